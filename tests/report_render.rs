//! The HTML report renders in a real browser: headless Chromium (`scripts/chromium.sh`,
//! networking off) takes a screenshot of a report with failures and advisories, and the
//! pixels show a page, not a blank one; its filter script runs and filters. A missing Chromium fails the test (`.ci/run`
//! installs it with `scripts/chromium.sh install`); it never skips.
//!
//! The screenshots stay in `target/tmp/report_render/` for a person to look at.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 1600;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn chromium(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new("bash")
        .arg(root().join("scripts/chromium.sh"))
        .args(args)
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "scripts/chromium.sh {args:?} failed (Chromium is required: scripts/chromium.sh install): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn screenshot(html: &Path, png: &Path) -> Vec<u8> {
    let size = format!("{WIDTH},{HEIGHT}");
    chromium(&[
        "screenshot".as_ref(),
        html.as_ref(),
        png.as_ref(),
        size.as_ref(),
    ]);
    std::fs::read(png).unwrap()
}

/// An 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes), decoded to RGB pixels.
struct Image {
    width: u32,
    height: u32,
    pixels: Vec<[u8; 3]>,
}

fn decode(png: &[u8]) -> Image {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let (mut at, mut idat) = (8, Vec::new());
    let (mut width, mut height, mut channels) = (0, 0, 0);
    while at + 8 <= png.len() {
        let len = be(&png[at..]) as usize;
        let kind = &png[at + 4..at + 8];
        let data = &png[at + 8..at + 8 + len];
        match kind {
            b"IHDR" => {
                width = be(data);
                height = be(&data[4..]);
                assert_eq!(data[8], 8, "bit depth");
                channels = match data[9] {
                    2 => 3,
                    6 => 4,
                    other => panic!("colour type {other}"),
                };
                assert_eq!(data[12], 0, "interlaced");
            }
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => break,
            _ => {}
        }
        at += 12 + len;
    }
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .expect("IDAT inflates");
    let stride = width as usize * channels;
    assert_eq!(raw.len(), height as usize * (stride + 1), "image data size");
    // Undo the per-row filters (PNG spec §9): None, Sub, Up, Average, Paeth.
    let mut prev = vec![0u8; stride];
    let mut pixels = Vec::with_capacity((width * height) as usize);
    for row in raw.chunks(stride + 1) {
        let (filter, bytes) = (row[0], &row[1..]);
        let mut cur = vec![0u8; stride];
        for i in 0..stride {
            let a = if i >= channels { cur[i - channels] } else { 0 };
            let (b, c) = (prev[i], if i >= channels { prev[i - channels] } else { 0 });
            let predicted = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((a as u16 + b as u16) / 2) as u8,
                4 => {
                    let p = a as i16 + b as i16 - c as i16;
                    let (pa, pb, pc) = (
                        (p - a as i16).abs(),
                        (p - b as i16).abs(),
                        (p - c as i16).abs(),
                    );
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                other => panic!("filter type {other}"),
            };
            cur[i] = bytes[i].wrapping_add(predicted);
        }
        pixels.extend(cur.chunks(channels).map(|p| [p[0], p[1], p[2]]));
        prev = cur;
    }
    Image {
        width,
        height,
        pixels,
    }
}

fn histogram(img: &Image) -> HashMap<[u8; 3], usize> {
    let mut h = HashMap::new();
    for p in &img.pixels {
        *h.entry(*p).or_default() += 1;
    }
    h
}

#[test]
fn the_html_report_renders_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .current_dir(root())
        .args([
            "run",
            "--versions",
            "1.3",
            "--cases",
            "1",
            "--fault",
            "wrong-field-type",
            "--fault",
            "count-is-page-length",
            "--format",
            "html",
            "--report-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = dir.path().join("report.html");
    let keep = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report_render");
    std::fs::create_dir_all(&keep).unwrap();

    // A blank page at the same size: what "nothing rendered" looks like.
    let blank_html = dir.path().join("blank.html");
    std::fs::write(
        &blank_html,
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body></body></html>\n",
    )
    .unwrap();
    let blank_png = screenshot(&blank_html, &keep.join("blank.png"));
    let blank = decode(&blank_png);
    assert_eq!((blank.width, blank.height), (WIDTH, HEIGHT));
    assert_eq!(
        histogram(&blank).len(),
        1,
        "a blank page is one colour (or the decoder is wrong)"
    );

    let png = screenshot(&html, &keep.join("report.png"));
    let img = decode(&png);
    assert_eq!((img.width, img.height), (WIDTH, HEIGHT));
    assert!(
        png.len() > 5 * blank_png.len(),
        "screenshot of {} bytes is hardly larger than a blank page's {}",
        png.len(),
        blank_png.len()
    );
    let h = histogram(&img);
    let background = h.values().max().copied().unwrap();
    let inked = img.pixels.len() - background;
    assert!(
        h.len() > 50 && inked * 50 > img.pixels.len(),
        "the page looks blank: {} colours, {inked} of {} pixels off the background",
        h.len(),
        img.pixels.len()
    );
    // The stylesheet applied: the advisory badge's colour (#a86b00) fills a box.
    let badge = h.get(&[0xa8, 0x6b, 0x00]).copied().unwrap_or(0);
    assert!(
        badge > 200,
        "no advisory badge on the page ({badge} pixels of #a86b00)"
    );
}

#[test]
fn the_filter_script_runs_and_hides_the_groups_that_do_not_match() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kmsconform"))
        .current_dir(root())
        .args([
            "run",
            "--versions",
            "1.3",
            "--cases",
            "1",
            "--fault",
            "wrong-field-type",
            "--format",
            "html",
            "--report-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let html = dir.path().join("report.html");
    let ops = |dom: &str| {
        (
            dom.matches("<details class=\"op\">").count(),
            dom.matches("<details class=\"op gone\">").count(),
        )
    };
    let source = std::fs::read_to_string(&html).unwrap();
    let (all, _) = ops(&source);
    assert!(all > 2, "too few operation groups to filter: {all}");

    // Unfiltered: the script shows the filter box and hides nothing.
    let dom = chromium(&["dom".as_ref(), html.as_ref()]);
    assert!(
        dom.contains("<div id=\"filter-box\">"),
        "the script did not run"
    );
    assert_eq!(ops(&dom), (all, 0));

    // Filtered by an operation: only its groups stay.
    let filtered = format!("{}#filter=listKeys", html.display());
    let dom = chromium(&["dom".as_ref(), filtered.as_ref()]);
    let (shown, gone) = ops(&dom);
    assert_eq!(shown + gone, all);
    assert!(shown >= 1 && gone >= 1, "{shown} shown, {gone} hidden");
    assert!(
        dom.contains(&format!("{shown} of {all} operation groups match")),
        "no match count"
    );
    // Each group (its text runs to the next group's start) is shown exactly when it mentions
    // listKeys, case-insensitively, as the script matches.
    for group in dom.split("<details class=\"op").skip(1) {
        let mentions = group.to_lowercase().contains("listkeys");
        assert_eq!(
            group.starts_with("\">"),
            mentions,
            "{}",
            &group[..group.len().min(200)]
        );
    }
}
