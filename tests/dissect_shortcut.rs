//! The dissector's shortcut for the common frame (Ethernet, IPv4, TCP) gives exactly
//! what the whole way through `etherparse`'s lax slicing gives, on every frame of every
//! capture here and in the shared public corpus (when it is beside the repository).

mod support;

use wirelab::capture::Linktype;
use wirelab::capture::file::CaptureFile;
use wirelab::dissect::Dissector;

#[test]
fn the_shortcut_agrees_with_the_whole_way() {
    let files = support::all_captures();
    assert!(files.len() > 20, "captures found: {}", files.len());
    let (mut frames, mut ethernet) = (0u64, 0u64);
    for path in &files {
        let Ok(mut file) = CaptureFile::open(path) else {
            continue;
        };
        let (mut fast, mut whole) = (Dissector::new(), Dissector::new());
        let _ = file.for_each(|frame| {
            frames += 1;
            ethernet += u64::from(frame.linktype == Linktype::ETHERNET);
            let a = format!("{:?}", fast.dissect(frame));
            let b = format!("{:?}", whole.dissect_lax(frame));
            assert_eq!(a, b, "{} frame {}", path.display(), frame.number);
        });
    }
    assert!(
        frames > 10_000 && ethernet > 5_000,
        "{frames} frames, {ethernet} of Ethernet"
    );
}
