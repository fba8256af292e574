use super::*;
use crate::commands::testutil::{arr, bulk, bulks, err, int, new, run, run_raw, simple};

fn nyc(t: &mut crate::commands::testutil::T) {
    assert_eq!(run(t, &["geoadd", "nyc", "-73.9454966", "40.747533", "lic market"]), int(1));
    assert_eq!(
        run(
            t,
            &[
                "geoadd",
                "nyc",
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
                "4545"
            ]
        ),
        int(6)
    );
}

#[test]
fn formatting() {
    assert_eq!(fixed4(0.0), "0.0000");
    assert_eq!(fixed4(0.0001), "0.0001");
    assert_eq!(fixed4(6.064_295_159_839_17e-5), "0.0001");
    assert_eq!(fixed4(0.01), "0.0100");
    assert_eq!(fixed4(-0.01), "-0.0100");
    assert_eq!(fixed4(166274.1516), "166274.1516");
    assert_eq!(fixed4(-0.00001), "0.0000");
    assert_eq!(human(13.361389338970184), "13.36138933897018433");
    assert_eq!(human(-0.0), "0");
    assert_eq!(human(10.0), "10");
    assert_eq!(str2d(b"1e400"), None);
    assert_eq!(str2d(b"1e-400"), None);
    assert_eq!(str2d(b"0x10"), Some(16.0));
    assert_eq!(str2d(b"-inf"), Some(f64::NEG_INFINITY));
    assert_eq!(str2d(b"0e5"), Some(0.0));
}

#[test]
fn geoadd_options_and_errors() {
    let mut t = new();
    nyc(&mut t);
    assert_eq!(run(&mut t, &["geoadd", "nyc", "-73.9454966", "40.747533", "lic market"]), int(0));
    assert_eq!(run(&mut t, &["geoadd", "nyc", "CH", "40.747533", "-73.9454966", "lic market"]), int(1));
    assert_eq!(run(&mut t, &["geoadd", "nyc", "NX", "-73.9454966", "40.747533", "lic market"]), int(0));
    assert_eq!(run(&mut t, &["geoadd", "nyc", "XX", "-83.9454966", "40.747533", "lic market"]), int(0));
    assert_eq!(run(&mut t, &["geoadd", "nyc", "CH", "XX", "-73.9454966", "40.747533", "lic market"]), int(1));
    assert_eq!(run(&mut t, &["geoadd", "nyc", "xx", "nx", "1", "1", "a"]), err("ERR syntax error"));
    assert_eq!(run(&mut t, &["geoadd", "nyc", "ch", "xx", "foo", "1", "1", "a"]), err("ERR syntax error"));
    assert_eq!(run(&mut t, &["geoadd", "nyc", "ch", "ch", "ch"]), err("ERR syntax error"));
    assert_eq!(
        run(&mut t, &["geoadd", "nyc", "1", "2", "a", "foo", "bar", "b"]),
        err("ERR value is not a valid float")
    );
    assert_eq!(
        run(&mut t, &["geoadd", "nyc", "181", "1", "a", "1", "1", "b"]),
        err("ERR invalid longitude,latitude pair 181.000000,1.000000")
    );
    assert_eq!(
        run(&mut t, &["geoadd", "nyc", "1", "inf", "a"]),
        err("ERR invalid longitude,latitude pair 1.000000,inf")
    );
    assert_eq!(run(&mut t, &["geoadd", "missing", "xx", "1", "1", "a"]), int(0));
    assert_eq!(run(&mut t, &["exists", "missing"]), int(0));
    run(&mut t, &["set", "str", "x"]);
    assert_eq!(
        run(&mut t, &["geoadd", "str", "1", "1", "a"]),
        err("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
}

#[test]
fn geopos_geohash_geodist() {
    let mut t = new();
    run(&mut t, &["geoadd", "points", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"]);
    assert_eq!(
        run_raw(&mut t, &["geopos", "points", "Palermo", "nope"]),
        "*2\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*-1\r\n"
    );
    assert_eq!(run_raw(&mut t, &["geopos", "nokey", "a"]), "*1\r\n*-1\r\n");
    assert_eq!(run(&mut t, &["geodist", "points", "Palermo", "Catania"]), bulk("166274.1516"));
    assert_eq!(run(&mut t, &["geodist", "points", "Palermo", "Catania", "km"]), bulk("166.2742"));
    assert_eq!(run(&mut t, &["geodist", "points", "Palermo", "Catania", "mi"]), bulk("103.3182"));
    assert_eq!(run_raw(&mut t, &["geodist", "points", "Palermo", "nope"]), "$-1\r\n");
    assert_eq!(run_raw(&mut t, &["geodist", "nokey", "a", "b"]), "$-1\r\n");
    assert_eq!(
        run(&mut t, &["geodist", "points", "a", "b", "c"]),
        err("ERR unsupported unit provided. please use M, KM, FT, MI")
    );
    assert_eq!(run(&mut t, &["geodist", "points", "a", "b", "c", "d"]), err("ERR syntax error"));
    run(&mut t, &["geoadd", "wiki", "-5.6", "42.6", "test"]);
    assert_eq!(run_raw(&mut t, &["geohash", "wiki", "test", "x"]), "*2\r\n$11\r\nezs42e44yx0\r\n$-1\r\n");
    assert_eq!(run_raw(&mut t, &["geohash", "nokey", "x"]), "*1\r\n$-1\r\n");
}

#[test]
fn radius_searches() {
    let mut t = new();
    nyc(&mut t);
    let r = run(&mut t, &["georadius", "nyc", "-73.9798091", "40.7598464", "3", "km", "asc"]);
    assert_eq!(r, bulks(&["central park n/q/r", "4545", "union square"]));
    let r =
        run(&mut t, &["geosearch", "nyc", "fromlonlat", "-73.9798091", "40.7598464", "bybox", "6", "6", "km", "asc"]);
    assert_eq!(r, bulks(&["central park n/q/r", "4545", "union square", "lic market"]));
    let r = run(&mut t, &["georadius", "nyc", "-73.9798091", "40.7598464", "10", "km", "COUNT", "3", "ANY"]);
    assert_eq!(r, bulks(&["wtc one", "union square", "central park n/q/r"]));
    let r = run(&mut t, &["georadius", "nyc", "-73.9798091", "40.7598464", "10", "km", "COUNT", "2", "DESC"]);
    assert_eq!(r, bulks(&["wtc one", "q4"]));
    let r = run(&mut t, &["georadiusbymember", "nyc", "wtc one", "7", "km"]);
    assert_eq!(r, bulks(&["wtc one", "union square", "central park n/q/r", "4545", "lic market"]));
    let r = run(&mut t, &["georadius", "nyc", "-73.9798091", "40.7598464", "3", "km", "withdist", "asc"]);
    assert_eq!(
        r,
        arr(vec![
            bulks(&["central park n/q/r", "0.7750"]),
            bulks(&["4545", "2.3651"]),
            bulks(&["union square", "2.7697"])
        ])
    );
    let r = run(&mut t, &["georadius", "nyc", "-73.9798091", "40.7598464", "1", "km", "withhash", "withcoord"]);
    assert_eq!(
        r,
        arr(vec![arr(vec![
            bulk("central park n/q/r"),
            int(1791875761332224),
            bulks(&["-73.97334784269332886", "40.76480639569881959"])
        ])])
    );
    assert_eq!(
        run(&mut t, &["georadius", "nyc", "-73.9798091", "40.7598464", "10", "km", "ANY", "ASC"]),
        err("ERR the ANY argument requires COUNT argument")
    );
    assert_eq!(
        run(&mut t, &["georadius", "nyc", "-73.9798091", "40.7598464", "10", "km", "COUNT"]),
        err("ERR syntax error")
    );
    assert_eq!(run(&mut t, &["georadius", "nyc", "1", "1", "1", "km", "count", "0"]), err("ERR COUNT must be > 0"));
    assert_eq!(run(&mut t, &["georadius", "nyc", "1", "1", "x", "km"]), err("ERR need numeric radius"));
    assert_eq!(run(&mut t, &["georadius", "nyc", "1", "1", "-1", "km"]), err("ERR radius cannot be negative"));
    assert_eq!(run(&mut t, &["georadius", "nokey", "1", "1", "1", "km"]), arr(vec![]));
    assert_eq!(run(&mut t, &["georadius", "nyc", "1", "1", "1", "km"]), arr(vec![]));
    assert_eq!(
        run(&mut t, &["georadiusbymember", "nyc", "nope", "1", "km"]),
        err("ERR could not decode requested zset member")
    );
    assert_eq!(run(&mut t, &["georadiusbymember", "nokey", "nope", "1", "km"]), arr(vec![]));
    assert_eq!(run(&mut t, &["georadius_ro", "nyc", "1", "1", "1", "km", "store", "x"]), err("ERR syntax error"));
}

#[test]
fn geosearch_errors() {
    let mut t = new();
    nyc(&mut t);
    assert_eq!(
        run(&mut t, &["GeoSearch", "nyc", "bybox", "3", "3", "km", "asc"]),
        err("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GeoSearch")
    );
    assert_eq!(
        run(&mut t, &["geosearch", "nyc", "fromlonlat", "1", "1", "asc", "desc"]),
        err("ERR exactly one of BYRADIUS and BYBOX can be specified for geosearch")
    );
    assert_eq!(
        run(&mut t, &["geosearch", "nyc", "fromlonlat", "1", "1", "frommember", "x", "bybox", "1", "1", "km"]),
        err("ERR syntax error")
    );
    assert_eq!(
        run(&mut t, &["geosearch", "nyc", "fromlonlat", "1", "1", "byradius", "3", "km", "bybox", "1", "1", "km"]),
        err("ERR syntax error")
    );
    assert_eq!(
        run(&mut t, &["geosearch", "nyc", "fromlonlat", "1", "1", "bybox", "1", "1", "km", "storedist"]),
        err("ERR syntax error")
    );
    assert_eq!(
        run(&mut t, &["geosearch", "nyc", "fromlonlat", "1", "1", "bybox", "x", "1", "km"]),
        err("ERR need numeric width")
    );
    assert_eq!(
        run(&mut t, &["geosearch", "nyc", "fromlonlat", "1", "1", "bybox", "-1", "x", "km"]),
        err("ERR need numeric height")
    );
    assert_eq!(
        run(&mut t, &["geosearch", "nyc", "fromlonlat", "1", "1", "bybox", "1", "-1", "km"]),
        err("ERR height or width cannot be negative")
    );
    assert_eq!(
        run(&mut t, &["geosearchstore", "a", "nyc", "fromlonlat", "1", "1", "bybox", "1", "1", "km", "withdist"]),
        err("ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
    );
    assert_eq!(
        run(&mut t, &["georadius", "nyc", "1", "1", "1", "km", "store", "x", "withdist"]),
        err("ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
    );
    assert_eq!(run(&mut t, &["geosearch", "nokey", "frommember", "zz", "bybox", "3", "3", "km"]), arr(vec![]));
    assert_eq!(
        run(&mut t, &["geosearch", "nyc", "frommember", "zz", "bybox", "3", "3", "km"]),
        err("ERR could not decode requested zset member")
    );
}

#[test]
fn store_variants() {
    let mut t = new();
    run(&mut t, &["geoadd", "points", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"]);
    assert_eq!(run(&mut t, &["georadius", "points", "13.361389", "38.115556", "500", "km", "store", "p2"]), int(2));
    assert_eq!(run(&mut t, &["type", "p2"]), simple("zset"));
    assert_eq!(
        run(&mut t, &["georadiusbymember", "points", "Catania", "500", "km", "storedist", "p3", "desc", "count", "1"]),
        int(1)
    );
    assert_eq!(
        run(
            &mut t,
            &[
                "geosearchstore",
                "p4",
                "points",
                "fromlonlat",
                "13.361389",
                "38.115556",
                "byradius",
                "500",
                "km",
                "storedist"
            ]
        ),
        int(2)
    );
    // An empty result deletes the destination.
    assert_eq!(run(&mut t, &["geosearchstore", "p4", "points", "fromlonlat", "0", "0", "byradius", "1", "km"]), int(0));
    assert_eq!(run(&mut t, &["exists", "p4"]), int(0));
    run(&mut t, &["set", "p5", "x"]);
    assert_eq!(run(&mut t, &["georadius", "nokey", "1", "1", "1", "km", "store", "p5"]), int(0));
    assert_eq!(run(&mut t, &["exists", "p5"]), int(0));
    run(&mut t, &["set", "src", "wrong"]);
    assert_eq!(
        run(&mut t, &["georadius", "src", "1", "1", "1", "km", "store", "x"]),
        err("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
}

#[test]
fn getkeys() {
    let a: Vec<&[u8]> = vec![b"georadius", b"k", b"1", b"2", b"3", b"km", b"store", b"d1", b"storedist", b"d2"];
    assert_eq!(georadius_keys(&a), vec![1, 9]);
    let b: Vec<&[u8]> = vec![b"georadius", b"k", b"1", b"2", b"3", b"km", b"store"];
    assert_eq!(georadius_keys(&b), vec![1]);
}

#[test]
fn sorts_agree_with_reference() {
    // pqsort and msort order a list with ties as Redis does; a full pqsort sorts.
    let d = [5.0, 1.0, 3.0, 3.0, 2.0, 9.0, 0.5, 3.0, 7.0, 1.0, 4.0, 8.0, 2.5];
    let cmp = |a: usize, b: usize| -> i32 {
        if d[a] > d[b] {
            1
        } else if d[a] == d[b] {
            0
        } else {
            -1
        }
    };
    let mut v: Vec<usize> = (0..d.len()).collect();
    msort(&mut v, &cmp);
    assert_eq!(v, vec![6, 1, 9, 4, 12, 2, 3, 7, 10, 0, 8, 11, 5]);
    let mut w: Vec<usize> = (0..d.len()).collect();
    pqsort(&mut w, &cmp, 0, d.len() - 1);
    assert!(w.windows(2).all(|p| d[p[0]] <= d[p[1]]));
    let big: Vec<f64> = (0..200).map(|i| ((i * 7919) % 101) as f64).collect();
    let cmpb = |a: usize, b: usize| -> i32 { (big[a] > big[b]) as i32 - (big[a] < big[b]) as i32 };
    let mut x: Vec<usize> = (0..big.len()).collect();
    pqsort(&mut x, &cmpb, 0, 9);
    let mut sorted = big.clone();
    sorted.sort_by(f64::total_cmp);
    assert_eq!(x[..10].iter().map(|&i| big[i]).collect::<Vec<_>>(), sorted[..10].to_vec());
}
