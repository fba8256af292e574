//! Geo commands through the `redis` crate against an in-process server: positions, distances, geohashes
//! and searches with Redis's exact replies (order, 4-decimal distances, coordinates).

mod common;

use common::{fails, TestServer};
use redis::{cmd, Connection};

fn strings(con: &mut Connection, args: &[&str]) -> Vec<String> {
    cmd(args[0]).arg(&args[1..]).query(con).unwrap()
}

fn nyc(con: &mut Connection) {
    let n: i64 = cmd("GEOADD")
        .arg(&[
            "nyc",
            "-73.9454966",
            "40.747533",
            "lic market",
            "-73.9733487",
            "40.7648057",
            "central park n/q/r",
            "-73.9903085",
            "40.7362513",
            "union square",
            "-74.0131604",
            "40.7126674",
            "wtc one",
            "-73.7858139",
            "40.6428986",
            "jfk",
            "-73.9375699",
            "40.7498929",
            "q4",
            "-73.9564142",
            "40.7480973",
            "4545",
        ])
        .query(con)
        .unwrap();
    assert_eq!(n, 7);
}

#[test]
fn add_pos_dist_hash() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    let n: i64 = cmd("GEOADD")
        .arg(&["Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"])
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 2);
    let t: String = cmd("TYPE").arg("Sicily").query(&mut con).unwrap();
    assert_eq!(t, "zset");
    let pos: Vec<Option<(String, String)>> = cmd("GEOPOS").arg(&["Sicily", "Palermo", "x"]).query(&mut con).unwrap();
    assert_eq!(pos, vec![Some(("13.36138933897018433".into(), "38.11555639549629859".into())), None]);
    let d: String = cmd("GEODIST").arg(&["Sicily", "Palermo", "Catania"]).query(&mut con).unwrap();
    assert_eq!(d, "166274.1516");
    let d: String = cmd("GEODIST").arg(&["Sicily", "Palermo", "Catania", "km"]).query(&mut con).unwrap();
    assert_eq!(d, "166.2742");
    let d: Option<String> = cmd("GEODIST").arg(&["Sicily", "Palermo", "x"]).query(&mut con).unwrap();
    assert_eq!(d, None);
    let h: Vec<Option<String>> = cmd("GEOHASH").arg(&["Sicily", "Palermo", "x"]).query(&mut con).unwrap();
    assert_eq!(h, vec![Some("sqc8b49rny0".into()), None]);
    assert_eq!(
        fails(&mut con, &["GEOADD", "Sicily", "200", "100", "x"]),
        "ERR invalid longitude,latitude pair 200.000000,100.000000"
    );
    assert_eq!(
        fails(&mut con, &["GEODIST", "Sicily", "a", "b", "parsec"]),
        "ERR unsupported unit provided. please use M, KM, FT, MI"
    );
    assert_eq!(fails(&mut con, &["GEOADD", "Sicily", "xx", "nx", "1", "1", "a"]), "ERR syntax error");
}

#[test]
fn searches() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    nyc(&mut con);
    assert_eq!(
        strings(&mut con, &["GEORADIUS", "nyc", "-73.9798091", "40.7598464", "3", "km", "asc"]),
        ["central park n/q/r", "4545", "union square"]
    );
    assert_eq!(
        strings(
            &mut con,
            &["GEOSEARCH", "nyc", "FROMLONLAT", "-73.9798091", "40.7598464", "BYBOX", "6", "6", "km", "ASC"]
        ),
        ["central park n/q/r", "4545", "union square", "lic market"]
    );
    assert_eq!(
        strings(&mut con, &["GEORADIUS", "nyc", "-73.9798091", "40.7598464", "10", "km", "COUNT", "3", "ANY"]),
        ["wtc one", "union square", "central park n/q/r"]
    );
    assert_eq!(
        strings(&mut con, &["GEOSEARCH", "nyc", "FROMMEMBER", "wtc one", "BYBOX", "14", "14", "km"]),
        ["wtc one", "union square", "central park n/q/r", "4545", "lic market", "q4"]
    );
    let withdist: Vec<(String, String)> =
        cmd("GEORADIUSBYMEMBER").arg(&["nyc", "wtc one", "7", "km", "withdist"]).query(&mut con).unwrap();
    assert_eq!(
        withdist,
        vec![
            ("wtc one".to_string(), "0.0000".to_string()),
            ("union square".into(), "3.2544".into()),
            ("central park n/q/r".into(), "6.7000".into()),
            ("4545".into(), "6.1975".into()),
            ("lic market".into(), "6.8969".into()),
        ]
    );
    assert_eq!(
        fails(&mut con, &["GEOSEARCH", "nyc", "BYBOX", "3", "3", "km", "ASC"]),
        "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GEOSEARCH"
    );
    assert_eq!(
        fails(&mut con, &["GEORADIUS", "nyc", "-73.9", "40.7", "10", "km", "ANY"]),
        "ERR the ANY argument requires COUNT argument"
    );
}

#[test]
fn store_options() {
    let srv = TestServer::start();
    let mut con = srv.conn();
    cmd("GEOADD")
        .arg(&["points", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"])
        .query::<()>(&mut con)
        .unwrap();
    let n: i64 = cmd("GEORADIUS")
        .arg(&["points", "13.361389", "38.115556", "500", "km", "STORE", "p2"])
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 2);
    let pos: Vec<Option<(String, String)>> = cmd("GEOPOS").arg(&["p2", "Palermo"]).query(&mut con).unwrap();
    assert_eq!(pos[0].as_ref().map(|p| p.0.as_str()), Some("13.36138933897018433"));
    let n: i64 = cmd("GEOSEARCHSTORE")
        .arg(&["p3", "points", "FROMLONLAT", "13.361389", "38.115556", "BYRADIUS", "500", "km", "STOREDIST"])
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 2);
    let n: i64 = cmd("GEORADIUS").arg(&["nokey", "1", "1", "1", "km", "STORE", "p3"]).query(&mut con).unwrap();
    assert_eq!(n, 0);
    let e: i64 = cmd("EXISTS").arg("p3").query(&mut con).unwrap();
    assert_eq!(e, 0);
    // COMMAND GETKEYS finds the STORE key.
    let keys: Vec<String> = cmd("COMMAND")
        .arg(&["GETKEYS", "GEORADIUS", "src", "1", "1", "1", "km", "STORE", "dst"])
        .query(&mut con)
        .unwrap();
    assert_eq!(keys, ["src", "dst"]);
    cmd("SET").arg(&["str", "x"]).query::<()>(&mut con).unwrap();
    assert_eq!(
        fails(&mut con, &["GEOSEARCH", "str", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "km"]),
        "WRONGTYPE Operation against a key holding the wrong kind of value"
    );
}
