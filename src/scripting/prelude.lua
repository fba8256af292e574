-- The sandbox every script runs in, built once per Lua VM before the globals are locked (ferrodis
-- scripting engine). Loaded with full access to the VM; receives the host table H, the mode ("eval" or
-- "function") and the Rust helpers. Returns the pieces the Rust side needs: the script environment, the
-- runner, and (function mode) the environment switch between FUNCTION LOAD and FCALL.
local H, mode, sha1_raw, log_raw, rand_raw, srand_raw, c_calls = ...
local G = _G
local dbg_getinfo = debug.getinfo
local rawget, rawset, setmetatable, getmetatable, error, type, tostring, tonumber, select, xpcall =
  rawget, rawset, setmetatable, getmetatable, error, type, tostring, tonumber, select, xpcall
local lua_pcall, lua_loadstring, lua_getfenv, lua_setfenv, floor = pcall, loadstring, getfenv, setfenv, math.floor
local concat, ipairs = table.concat, ipairs
local INTERNAL = '=redis_api'

-- Readonly tables: Redis patches Lua with a readonly flag; plain Lua 5.1 gets the same behaviour from
-- empty proxies whose writes fail, with setmetatable/rawset refusing them too.
local RO = setmetatable({}, {__mode = 'k'})
local function ro_error() error('Attempt to modify a readonly table', 2) end
local function readonly(t)
  local p = {}
  -- What getmetatable(p) shows: its __index is p itself, so the real table never leaks out.
  local shown = setmetatable({}, {__index = {__index = p}, __newindex = ro_error, __metatable = false})
  RO[shown] = true
  setmetatable(p, {__index = t, __newindex = ro_error, __metatable = shown})
  RO[p] = true
  return p
end
-- Level 2: the position of the code that read the name, as Redis's luaL_error from its C __index.
-- Frames of this file in between (the library environment's lookup during FUNCTION LOAD) are skipped, so
-- the position is the script's.
local function nonexistent(_, k)
  local lvl = 2
  while true do
    local i = dbg_getinfo(lvl, 'S')
    if not i or i.source ~= INTERNAL then break end
    lvl = lvl + 1
  end
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", lvl)
end

-- Errors reach the caller as tables {err=..., source=..., line=...}; the position is the innermost frame
-- of user code (frames of this file and C functions are skipped).
local function err_handler(err)
  local lvl = 2
  local i = dbg_getinfo(lvl, 'Sl')
  while i and (i.what == 'C' or i.what == 'tail' or i.source == INTERNAL) do
    lvl = lvl + 1
    i = dbg_getinfo(lvl, 'Sl')
  end
  if type(err) ~= 'table' then
    err = {err = 'ERR ' .. tostring(err)}
  end
  if i then
    rawset(err, 'source', i.source)
    rawset(err, 'line', i.currentline)
  end
  return err
end

-- Redis's error-table format: "-CODE msg" keeps its code, anything else gets ERR.
local function err_table(e)
  local code, msg = 'ERR', e
  if e:sub(1, 1) == '-' then
    local sp = e:find(' ', 1, true)
    if sp then
      code, msg = e:sub(2, sp - 1), e:sub(sp + 1)
    else
      msg = e:sub(2)
    end
  end
  msg = msg:gsub('^[\r\n]+', ''):gsub('[\r\n]+$', '')
  return {err = code .. ' ' .. msg}
end

local function bridge(what, ...)
  local f = H.fn
  if f == nil then
    error(err_table(what .. ' can only be called inside a script invocation'), 0)
  end
  return f(...)
end

local redis = {}
-- redis.call and redis.pcall are C functions that pack their arguments and run raw_call; call raises
-- the error table it gets back.
local function raw_call(n, args)
  return bridge('redis.call/pcall', 'call', n, args)
end
redis.call, redis.pcall = c_calls[1], c_calls[2]
function redis.sha1hex(...)
  if select('#', ...) ~= 1 then error(err_table('wrong number of arguments'), 0) end
  return sha1_raw(...)
end
function redis.error_reply(...)
  if select('#', ...) ~= 1 or type((...)) ~= 'string' then return err_table('wrong number or type of arguments') end
  local e = ...
  if e:sub(1, 1) ~= '-' then e = '-' .. e end
  return err_table(e)
end
function redis.status_reply(...)
  if select('#', ...) ~= 1 or type((...)) ~= 'string' then return err_table('wrong number or type of arguments') end
  return {ok = (...)}
end
local function log(...)
  local n = select('#', ...)
  if n < 2 then error(err_table('redis.log() requires two arguments or more.'), 0) end
  local level = ...
  if tonumber(level) == nil then error(err_table('First argument must be a number (log level).'), 0) end
  level = floor(tonumber(level))
  if level < 0 or level > 3 then error(err_table('Invalid debug level.'), 0) end
  local parts = {}
  for j = 2, n do
    local s = select(j, ...)
    if type(s) == 'string' or type(s) == 'number' then parts[#parts + 1] = tostring(s) end
  end
  log_raw(level, concat(parts, ' '))
end
redis.log = log
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
function redis.setresp(...)
  local n = select('#', ...)
  local H_fn = H.fn
  if H_fn == nil then error(err_table('redis.setresp can only be called inside a script invocation'), 0) end
  if n ~= 1 then error(err_table('redis.setresp() requires one argument.'), 0) end
  local r = tonumber((...))
  if r ~= 2 and r ~= 3 then error(err_table('RESP version must be 2 or 3.'), 0) end
  H_fn('setresp', r)
end
function redis.set_repl(...)
  local H_fn = H.fn
  if H_fn == nil then error(err_table('redis.set_repl can only be called inside a script invocation'), 0) end
  if select('#', ...) ~= 1 then error(err_table('redis.set_repl() requires two arguments.'), 0) end
  local f = tonumber((...)) or 0
  if f ~= 0 and f ~= 1 and f ~= 2 and f ~= 3 then
    error(err_table('Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.'), 0)
  end
  H_fn('set_repl', f)
end
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
function redis.replicate_commands() return true end
function redis.acl_check_cmd(...)
  local e, v = bridge('redis.acl_check_cmd', 'acl', ...)
  if e then error(v, 0) end
  return v
end
-- Behind C functions (lib_wrap), so that a script's tail call into them keeps the script's frame for the
-- error position.
local lib = c_calls[5]
for _, name in ipairs({'sha1hex', 'error_reply', 'status_reply', 'log', 'setresp', 'set_repl', 'acl_check_cmd'}) do
  redis[name] = lib(redis[name])
end
-- The Lua debugger's (SCRIPT DEBUG SYNC): no-ops outside a session.
redis.debug, redis.breakpoint = c_calls[3], c_calls[4]
redis.REDIS_VERSION = H.version
redis.REDIS_VERSION_NUM = H.version_num

-- math.random as Redis: its own rand48 so that a seed gives the same sequence everywhere.
local function checkint(v, n, fname)
  local x = tonumber(v)
  if x == nil then
    error("bad argument #" .. n .. " to '" .. fname .. "' (number expected, got " .. (v == nil and 'no value' or type(v)) .. ")", 4)
  end
  return x >= 0 and floor(x) or -floor(-x)
end
math.random = function(...)
  local n = select('#', ...)
  local r = rand_raw()
  if n == 0 then
    return r
  elseif n == 1 then
    local u = checkint((...), 1, 'random')
    if u < 1 then error("bad argument #1 to 'random' (interval is empty)", 3) end
    return floor(r * u) + 1
  elseif n == 2 then
    local l, u = ...
    l, u = checkint(l, 1, 'random'), checkint(u, 2, 'random')
    if l > u then error("bad argument #2 to 'random' (interval is empty)", 3) end
    return floor(r * (u - l + 1)) + l
  end
  error('wrong number of arguments', 3)
end
math.randomseed = function(...)
  srand_raw(checkint((...), 1, 'randomseed'))
end
-- Error levels above count the C function in between: 3 is the script calling math.random.
math.random, math.randomseed = lib(math.random), lib(math.randomseed)

-- Redis's pcall hands back the message of an error table, not the table.
local function fix_pcall(ok, ...)
  if ok then return ok, ... end
  local e = ...
  if type(e) == 'table' then
    local m = e.err
    if type(m) == 'string' then e = m end
  end
  return false, e
end

-- The script environment: reads fall through to the real globals (missing names are an error),
-- writes fail.
local env = readonly(G)

G.pcall = function(...) return fix_pcall(lua_pcall(...)) end
G.setmetatable = function(t, m)
  if RO[t] then error('Attempt to modify a readonly table', 2) end
  return setmetatable(t, m)
end
G.rawset = function(t, k, v)
  if RO[t] then error('Attempt to modify a readonly table', 2) end
  return rawset(t, k, v)
end
G.getfenv = function(...)
  local r = lua_getfenv(...)
  if r == G then return env end
  return r
end
G.setfenv = function(f, t)
  if f == 0 or RO[t] then error('Attempt to modify a readonly table', 2) end
  return lua_setfenv(f, t)
end
-- Binary chunks are refused (Redis's Lua is built without them); text chunks see the script environment.
G.loadstring = function(s, name)
  if type(s) == 'string' and s:byte(1) == 27 then return nil, 'binary chunks are not allowed' end
  local f, e = lua_loadstring(s, name)
  if f then lua_setfenv(f, env) end
  return f, e
end
G.load = function(fn, name)
  local parts = {}
  while true do
    local p = fn()
    if p == nil or p == '' then break end
    parts[#parts + 1] = p
  end
  return G.loadstring(concat(parts), name)
end
-- newproxy is not in Redis's Lua (and its __gc would run script code inside the collector).
G.print, G.dofile, G.loadfile, G.debug, G.module, G.require, G.package, G.os, G.io, G.newproxy = nil

for _, lib in ipairs({'string', 'math', 'table', 'coroutine', 'cjson', 'bit', 'cmsgpack', 'struct'}) do
  local t = rawget(G, lib)
  if type(t) == 'table' then rawset(G, lib, readonly(t)) end
end
-- Strings reach the string library through their metatable: make that path readonly too.
do
  local smt = getmetatable('')
  smt.__index = rawget(G, 'string')
  smt.__metatable = readonly({__index = smt.__index})
end
G._G = env

local result = {env = env, err_handler = err_handler, raw_call = raw_call}

if mode == 'eval' then
  rawset(G, 'redis', readonly(redis))
  G.__redis__err__handler = err_handler
  setmetatable(G, {__index = nonexistent})
  -- KEYS and ARGV are globals, set by the host before each run.
  function result.run(f)
    return xpcall(f, err_handler)
  end
else
  -- Functions: the library body runs once at FUNCTION LOAD against an environment holding only the
  -- registration API; the functions it registers later run against the full one. The same proxy serves
  -- both, its lookups pointing at one or the other.
  local runtime_redis = readonly(redis)
  rawset(G, 'redis', runtime_redis)
  setmetatable(G, {__index = nonexistent})
  local load_api = {log = log, LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
    REDIS_VERSION = H.version, REDIS_VERSION_NUM = H.version_num}
  function load_api.register_function(...)
    local f = H.register
    if f == nil then
      error(err_table('redis.register_function can only be called on FUNCTION LOAD command'), 0)
    end
    local e = f(...)
    if e then error(err_table(e), 0) end
  end
  setmetatable(load_api, {__index = nonexistent})
  local load_globals = setmetatable({redis = readonly(load_api)}, {__index = nonexistent})
  local lookups = {}
  local lib_env = setmetatable({}, {__index = function(_, k) return lookups.target[k] end,
    __newindex = ro_error, __metatable = false})
  RO[lib_env] = true
  lookups.target = G
  result.lib_env = lib_env
  function result.set_loading(on)
    lookups.target = on and load_globals or G
  end
  function result.run(f, keys, args)
    return xpcall(function() return f(keys, args) end, err_handler)
  end
  function result.load(f)
    return xpcall(f, err_handler)
  end
end
return result
