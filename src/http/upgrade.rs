//! What a connection carries after HTTP/1 hands it over: a `101 Switching Protocols`
//! (RFC 9110 §15.2.2, the `Upgrade` header of §7.8: WebSocket, h2c) or a `CONNECT`
//! answered 2xx (RFC 9110 §9.3.6: a tunnel). From the switch on, the bytes of both
//! directions are the new protocol's, never HTTP messages: they are counted, and
//! WebSocket frames (RFC 6455 §5.2) are named by `tungstenite`'s frame-header decoder.
//! Knows nothing of packets: it reads stream offsets, bytes and frame numbers.

use crate::reassembly::FrameNo;
use std::io::Cursor;
use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};

/// The protocol a connection switched to, and its bytes since the switch.
#[derive(Clone, Debug)]
pub struct Upgrade {
    /// "websocket", "h2c", ... (the response's `Upgrade` header, lower case), or
    /// "tunnel" after CONNECT.
    pub protocol: String,
    /// The CONNECT target ("host:443"), for a tunnel.
    pub target: Option<String>,
    /// Frame of the response that switched (None when it is not in the capture).
    pub frame: Option<FrameNo>,
    /// Client's side, server's side.
    pub sides: [UpgradedSide; 2],
    /// WebSocket frames of both sides in the order they were decoded.
    pub frames: Vec<WsFrame>,
    /// WebSocket frames beyond [`Upgrade::max_frames`], counted.
    pub frames_omitted: u64,
    /// WebSocket frames listed at most (`Limits::websocket_frames`).
    pub max_frames: usize,
    /// HTTP exchanges carried inside a CONNECT tunnel in clear (a proxy's tunnel to
    /// port 80), as Suricata follows them; added to the connection's exchanges.
    pub http_inside: u64,
}

/// One direction after the switch.
#[derive(Clone, Debug, Default)]
pub struct UpgradedSide {
    /// Stream offset of the first byte after the switch.
    pub offset: Option<u64>,
    pub bytes: u64,
    /// Bytes the capture lost after the switch.
    pub gap_bytes: u64,
    pub ws_frames: u64,
    /// Why WebSocket frames could not be followed any more, if so.
    pub lost: Option<String>,
    ws: WsReader,
}

/// One WebSocket frame (RFC 6455 §5.2).
#[derive(Clone, Debug)]
pub struct WsFrame {
    pub client: bool,
    /// The capture frame that carried the frame's first byte.
    pub frame: FrameNo,
    pub offset: u64,
    /// "text", "binary", "continuation", "close", "ping", "pong", "reserved 0x3".
    pub opcode: String,
    pub fin: bool,
    /// Client frames must be masked (§5.3), server frames must not.
    pub masked: bool,
    pub payload_len: u64,
}

#[derive(Clone, Debug, Default)]
struct WsReader {
    /// Header bytes gathered while a header spans segments (at most 14).
    head: Vec<u8>,
    /// Where `head` starts, and its first byte's frame.
    head_at: (u64, FrameNo),
    /// Payload bytes still to skip.
    skip: u64,
}

impl Upgrade {
    /// A switch to `protocol` answered in `frame`.
    pub fn new(protocol: &str, target: Option<String>, frame: Option<FrameNo>) -> Self {
        Upgrade {
            protocol: protocol.trim().to_ascii_lowercase(),
            target,
            frame,
            sides: Default::default(),
            frames: Vec::new(),
            frames_omitted: 0,
            max_frames: crate::limits::WEBSOCKET_FRAMES,
            http_inside: 0,
        }
    }

    /// Whether WebSocket frames are decoded.
    pub fn is_websocket(&self) -> bool {
        self.protocol == "websocket"
    }

    /// Bytes of one side after the switch, at stream `offset`, from `frame`.
    pub fn data(&mut self, client: bool, offset: u64, bytes: &[u8], frame: FrameNo) {
        let websocket = self.is_websocket();
        let side = &mut self.sides[usize::from(!client)];
        side.offset.get_or_insert(offset);
        side.bytes += bytes.len() as u64;
        if !websocket || side.lost.is_some() {
            return;
        }
        let mut at = 0usize;
        while at < bytes.len() {
            let ws = &mut side.ws;
            if ws.skip > 0 {
                let n = ws.skip.min((bytes.len() - at) as u64);
                ws.skip -= n;
                at += n as usize;
                continue;
            }
            if ws.head.is_empty() {
                ws.head_at = (offset + at as u64, frame);
            }
            let want = 14 - ws.head.len();
            let take = want.min(bytes.len() - at);
            ws.head.extend_from_slice(&bytes[at..at + take]);
            let mut cur = Cursor::new(&ws.head[..]);
            match FrameHeader::parse(&mut cur) {
                Ok(Some((h, len))) => {
                    let used = cur.position() as usize;
                    // Bytes of this call beyond the header are payload (or the next frame).
                    let before = ws.head.len() - take;
                    at += used - before;
                    ws.skip = len;
                    let (offset, first) = ws.head_at;
                    ws.head.clear();
                    side.ws_frames += 1;
                    if self.frames.len() < self.max_frames {
                        self.frames.push(WsFrame {
                            client,
                            frame: first,
                            offset,
                            opcode: opcode_name(h.opcode),
                            fin: h.is_final,
                            masked: h.mask.is_some(),
                            payload_len: len,
                        });
                    } else {
                        self.frames_omitted += 1;
                    }
                }
                Ok(None) => at += take,
                Err(e) => {
                    side.lost = Some(format!(
                        "not a WebSocket frame at stream offset {}: {e}",
                        ws.head_at.0
                    ));
                    return;
                }
            }
        }
    }

    /// The capture lost `len` bytes of one side: WebSocket frames cannot be followed
    /// past a gap unless it falls inside a payload being skipped.
    pub fn gap(&mut self, client: bool, offset: u64, len: u64) {
        let websocket = self.is_websocket();
        let side = &mut self.sides[usize::from(!client)];
        side.offset.get_or_insert(offset);
        side.gap_bytes += len;
        if !websocket || side.lost.is_some() {
            return;
        }
        if side.ws.head.is_empty() && side.ws.skip >= len {
            side.ws.skip -= len;
        } else {
            side.lost = Some(format!(
                "the capture lost {len} bytes at stream offset {offset}"
            ));
        }
    }
}

fn opcode_name(op: OpCode) -> String {
    match op {
        OpCode::Data(Data::Continue) => "continuation".into(),
        OpCode::Data(Data::Text) => "text".into(),
        OpCode::Data(Data::Binary) => "binary".into(),
        OpCode::Data(Data::Reserved(n)) | OpCode::Control(Control::Reserved(n)) => {
            format!("reserved {n:#x}")
        }
        OpCode::Control(Control::Close) => "close".into(),
        OpCode::Control(Control::Ping) => "ping".into(),
        OpCode::Control(Control::Pong) => "pong".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client text frame "Hello" (RFC 6455 §5.7), then a server text frame
    /// "Hello", a ping and a close, fed whole and byte by byte.
    #[test]
    fn websocket_frames_are_named_at_every_split() {
        let client: &[u8] = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
        let server: &[u8] = b"\x81\x05Hello\x89\x00\x88\x02\x03\xe8";
        for step in [usize::MAX, 1, 3] {
            let mut up = Upgrade::new("WebSocket", None, Some(6));
            for (client_side, bytes) in [(true, client), (false, server)] {
                for (i, piece) in bytes.chunks(step.min(bytes.len())).enumerate() {
                    let offset = (i * step.min(bytes.len())) as u64;
                    up.data(client_side, offset, piece, 10 + i as u64);
                }
            }
            let names: Vec<_> = up
                .frames
                .iter()
                .map(|f| {
                    (
                        f.client,
                        f.opcode.as_str(),
                        f.masked,
                        f.payload_len,
                        f.offset,
                    )
                })
                .collect();
            assert_eq!(
                names,
                vec![
                    (true, "text", true, 5, 0),
                    (false, "text", false, 5, 0),
                    (false, "ping", false, 0, 7),
                    (false, "close", false, 2, 9),
                ],
                "step {step}"
            );
            assert_eq!(up.sides[0].bytes, client.len() as u64);
            assert_eq!(up.sides[1].ws_frames, 3);
            assert!(up.sides[0].lost.is_none() && up.sides[1].lost.is_none());
        }
    }

    #[test]
    fn a_gap_inside_a_payload_keeps_frames_a_gap_elsewhere_stops_them() {
        let mut up = Upgrade::new("websocket", None, None);
        up.data(false, 0, b"\x82\x7e\x01\x00abc", 1); // binary, 256 bytes
        up.gap(false, 7, 200);
        up.data(false, 207, &[b'x'; 53], 2);
        up.data(false, 260, b"\x8a\x00", 3); // pong
        assert_eq!(up.sides[1].ws_frames, 2);
        up.gap(false, 262, 5);
        assert!(up.sides[1].lost.is_some());
        let mut tunnel = Upgrade::new("tunnel", Some("example.org:443".into()), Some(4));
        tunnel.data(true, 0, b"\x16\x03\x01", 5);
        assert!(tunnel.frames.is_empty() && tunnel.sides[0].bytes == 3);
    }
}
