#!/usr/bin/env bash
# Regenerates the RDB fixtures in this folder and their expectations, with the Debian redis-server 7.0.15
# (/usr/bin/redis-server) and its redis-cli. Nothing here is produced by ferrodis.
#
#   redis-7.0.15-all-types.rdb   every type in its small and big encodings, TTLs, a stream with tombstones,
#                                groups, consumers and PELs, a function library, keys in dbs 0, 1 and 9
#                                (SAVE with the default config: rdbcompression yes)
#   redis-7.0.15-plain.rdb       a few keys saved with rdbcompression no
#   redis-7.0.15-lru.rdb         saved under maxmemory-policy allkeys-lru (RDB_OPCODE_IDLE before keys)
#   redis-7.0.15-lfu.rdb         saved under allkeys-lfu (RDB_OPCODE_FREQ before keys)
#   *.rdb from the Redis 7.0.15 test suite's tests/assets (BSD-3-Clause, copied as they are): older
#   encodings (zipmap, ziplist, quicklist of ziplists, intset), empty keys, "lua" aux fields, a corrupt ziplist.
#
# For each fixture but corrupt_ziplist.rdb (which redis-server refuses), <name>.expected.jsonl is what
# redis-server shows after loading it, one JSON line per key as redis-cli --json prints the replies:
#   {"db":N,"key":K,"type":T,"encoding":E,"pexpiretime":MS,"value":V}
# V is GET / LRANGE 0 -1 / SMEMBERS / ZRANGE 0 -1 WITHSCORES / HGETALL / XINFO STREAM FULL COUNT 0; keys in
# byte order per db; a last line {"functions":FUNCTION LIST WITHCODE}. redis-cli prints inf/-inf scores bare.
#
# Usage: tests/data/make-fixtures.sh   (REDIS_SUITE overrides the suite's location)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
suite=${REDIS_SUITE:-/root/.cache/ferrodis/redis-7.0.15-suite}
redis-server --version | grep -q 'v=7.0.15' || { echo "needs redis-server 7.0.15" >&2; exit 1; }

tmp=$(mktemp -d)
port=$((20000 + RANDOM % 10000))
trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT

R() { redis-cli -p "$port" "$@"; }

# start DBFILENAME [extra config...]: a server on $port loading $tmp/DBFILENAME if it exists.
start() {
    local file=$1
    shift
    redis-server --port "$port" --dir "$tmp" --dbfilename "$file" --save '' --appendonly no \
        --daemonize yes --pidfile "$tmp/redis.pid" --logfile "$tmp/redis.log" "$@"
    for _ in $(seq 100); do
        if [ "$(R ping 2>/dev/null)" = PONG ] && [ "$(R info persistence | grep -c '^loading:0')" = 1 ]; then
            return
        fi
        sleep 0.1
    done
    echo "redis-server did not start; log:" >&2
    cat "$tmp/redis.log" >&2
    exit 1
}

stop() {
    R shutdown nosave >/dev/null 2>&1 || true
    for _ in $(seq 100); do
        [ -e "$tmp/redis.pid" ] || return 0
        sleep 0.1
    done
}

# A far-future deadline so that the keys never expire while the tests run.
T=4102444800000

fill_all_types() {
    # Strings: int, 64-bit int (written as digits), embstr, raw, LZF-compressible, empty, appended (raw).
    R set s:int 12345 >/dev/null
    R set s:neg -7 >/dev/null
    R set s:i64 9223372036854775807 >/dev/null
    R set s:emb "hello world" >/dev/null
    R set s:float 3.14 >/dev/null
    R set s:zeros 007 >/dev/null
    R set s:raw "$(printf 'x%.0s' $(seq 60))-not-very-repetitive-0123456789-abcdefghijklmnopqrstuvwxyz" >/dev/null
    R set s:lzf "$(printf 'abc%.0s' $(seq 200))" >/dev/null
    R set s:empty "" >/dev/null
    R set s:appended ab >/dev/null
    R append s:appended cd >/dev/null
    R set s:ttl soon >/dev/null
    R pexpireat s:ttl $((T + 123)) >/dev/null
    # Lists: one small node with ints and strings, many nodes, big elements.
    R rpush l:small a 1 -2 300 70000 -4000000000 b "" "with space" >/dev/null
    for i in $(seq 0 9); do
        R rpush l:big $(seq $((i * 200)) $((i * 200 + 199)) | sed 's/^/item:/') >/dev/null
    done
    R rpush l:long "$(printf 'y%.0s' $(seq 100))" "$(printf 'z%.0s' $(seq 5000))" short >/dev/null
    R pexpireat l:small $((T + 1)) >/dev/null
    # Hashes: listpack, hashtable by count, hashtable by value size.
    R hset h:small f1 v1 f2 2 num 12345678901 empty "" >/dev/null
    R hset h:big $(for i in $(seq 1 600); do echo "field:$i value:$i"; done) >/dev/null
    R hset h:longval a "$(printf 'v%.0s' $(seq 100))" b c >/dev/null
    # Sets: intsets of each width, hashtable by count, hashtable by strings.
    R sadd set:i16 5 -3 100 >/dev/null
    R sadd set:i32 1 100000 -100000 >/dev/null
    R sadd set:i64 1 10000000000 -5 >/dev/null
    R sadd set:bigint $(seq 1 600) >/dev/null
    R sadd set:str a b c 1 2 >/dev/null
    # Sorted sets: listpack (int, fractional, infinite, negative zero scores), skiplist by count and by size.
    R zadd z:small 1 one 2.5 two -3 neg 0 zero inf top -inf bottom 1e300 huge 12345678901 i64 >/dev/null
    R zadd z:big $(for i in $(seq 1 200); do echo "$i.5 m:$i"; done) >/dev/null
    R zadd z:long 1 "$(printf 'm%.0s' $(seq 100))" 2 b >/dev/null
    R pexpireat z:big $((T + 2)) >/dev/null
    # Streams: 250 entries over three nodes, different field sets, tombstones, groups and PELs.
    for i in $(seq 1 250); do
        if [ $((i % 7)) = 0 ]; then
            R xadd st:main "$i-1" other "$i" >/dev/null
        else
            R xadd st:main "$i-1" f "$i" g "x$i" >/dev/null
        fi
    done
    R xdel st:main 1-1 50-1 100-1 101-1 250-1 >/dev/null
    R xgroup create st:main g1 0 >/dev/null
    R xgroup create st:main g2 '$' >/dev/null
    R xgroup create st:main g3 120-1 entriesread 5 >/dev/null
    R xreadgroup group g1 alice count 3 streams st:main '>' >/dev/null
    R xreadgroup group g1 bob count 2 streams st:main '>' >/dev/null
    R xack st:main g1 3-1 >/dev/null
    R xgroup createconsumer st:main g1 carol >/dev/null
    R xclaim st:main g1 carol 0 4-1 >/dev/null
    R xadd st:empty 5-5 a b >/dev/null
    R xdel st:empty 5-5 >/dev/null
    R xadd st:small '*' k v >/dev/null
    R xadd st:small 99999999999999-1 k2 v2 >/dev/null
    # A function library.
    R function load "#!lua name=mylib
redis.register_function('myfunc', function(keys, args) return args[1] end)" >/dev/null
    # Other databases.
    R -n 1 set other:db1 one >/dev/null
    R -n 1 rpush other:list x y >/dev/null
    R -n 9 set db9:key nine >/dev/null
    R -n 9 pexpireat db9:key $((T + 9)) >/dev/null
}

# expect RDBFILE: the JSON-lines expectation of what redis-server holds after loading it.
expect() {
    local name
    name=$(basename "$1" .rdb)
    cp "$1" "$tmp/load.rdb"
    start load.rdb
    {
        for db in $(seq 0 15); do
            R -n "$db" --raw keys '*' | LC_ALL=C sort | while IFS= read -r k; do
                [ -n "$k" ] || continue
                local t e p v
                t=$(R -n "$db" --raw type "$k")
                e=$(R -n "$db" --raw object encoding "$k")
                p=$(R -n "$db" --raw pexpiretime "$k")
                case $t in
                    string) v=$(R -n "$db" --json get "$k") ;;
                    list) v=$(R -n "$db" --json lrange "$k" 0 -1) ;;
                    set) v=$(R -n "$db" --json smembers "$k") ;;
                    zset) v=$(R -n "$db" --json zrange "$k" 0 -1 withscores) ;;
                    hash) v=$(R -n "$db" --json hgetall "$k") ;;
                    stream) v=$(R -n "$db" --json xinfo stream "$k" full count 0) ;;
                    *) echo "unexpected type $t" >&2; exit 1 ;;
                esac
                printf '{"db":%d,"key":%s,"type":"%s","encoding":"%s","pexpiretime":%s,"value":%s}\n' \
                    "$db" "$(R --json echo "$k")" "$t" "$e" "$p" "$v"
            done
        done
        printf '{"functions":%s}\n' "$(R --json function list withcode)"
    } >"$here/$name.expected.jsonl"
    stop
    rm -f "$tmp/load.rdb"
}

# 1. Our fixtures.
start all.rdb
fill_all_types
R save >/dev/null
stop
cp "$tmp/all.rdb" "$here/redis-7.0.15-all-types.rdb"

start plain.rdb --rdbcompression no
R set s:lzf "$(printf 'abc%.0s' $(seq 200))" >/dev/null
R rpush l:l "$(printf 'q%.0s' $(seq 100))" 1 2 >/dev/null
R hset h:h f "$(printf 'r%.0s' $(seq 30))" >/dev/null
R save >/dev/null
stop
cp "$tmp/plain.rdb" "$here/redis-7.0.15-plain.rdb"

for policy in lru lfu; do
    start "$policy.rdb" --maxmemory-policy "allkeys-$policy"
    R set "$policy:a" 1 >/dev/null
    R rpush "$policy:b" x >/dev/null
    R pexpireat "$policy:b" $((T + 5)) >/dev/null
    R save >/dev/null
    stop
    cp "$tmp/$policy.rdb" "$here/redis-7.0.15-$policy.rdb"
done

# 2. The Redis suite's assets.
for a in encodings hash-zipmap hash-ziplist list-quicklist zset-ziplist scriptbackup corrupt_empty_keys corrupt_ziplist; do
    cp "$suite/tests/assets/$a.rdb" "$here/$a.rdb"
done

# 3. Expectations.
for f in redis-7.0.15-all-types redis-7.0.15-plain redis-7.0.15-lru redis-7.0.15-lfu encodings hash-zipmap \
    hash-ziplist list-quicklist zset-ziplist scriptbackup corrupt_empty_keys; do
    expect "$here/$f.rdb"
done
echo "fixtures written to $here"
