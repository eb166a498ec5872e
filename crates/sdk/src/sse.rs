//! A small Server-Sent Events parser (the WHATWG `text/event-stream` rules that matter here).
//!
//! Bytes go in as they arrive, split anywhere (mid-line, mid-UTF-8 character); complete messages
//! come out. Lines end with `\n`, `\r\n` or `\r`; a blank line dispatches the message; lines
//! starting with `:` are comments (the server's keep-alives); `field: value` loses one leading
//! space of the value; several `data:` lines join with `\n`; a message with no data is dropped,
//! as a browser's EventSource drops it.

/// One dispatched message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseMessage {
    /// `id:`, when the message had one.
    pub id: Option<String>,
    /// `event:` (`message` when absent).
    pub event: String,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
}

/// The parser's state between chunks.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of an incomplete line.
    line: Vec<u8>,
    /// The previous chunk ended in `\r`: a `\n` starting this one belongs to that line end.
    after_cr: bool,
    id: Option<String>,
    event: Option<String>,
    data: Option<String>,
}

/// Longest line kept (a server that never ends a line cannot make the client grow forever).
const MAX_LINE: usize = 1 << 20;

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns the messages they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseMessage> {
        let mut out = Vec::new();
        for &b in bytes {
            let after_cr = std::mem::take(&mut self.after_cr);
            match b {
                b'\n' if after_cr => {}
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    if let Some(m) = self.line_done(&line) {
                        out.push(m);
                    }
                }
                _ if self.line.len() < MAX_LINE => self.line.push(b),
                _ => {}
            }
        }
        out
    }

    fn line_done(&mut self, line: &[u8]) -> Option<SseMessage> {
        if line.is_empty() {
            let data = self.data.take();
            let event = self.event.take();
            // The id persists across messages (the "last event ID buffer").
            let id = self.id.clone();
            return data.map(|data| SseMessage {
                id,
                event: event.unwrap_or_else(|| "message".to_owned()),
                data,
            });
        }
        if line.first() == Some(&b':') {
            return None;
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line.as_ref(), ""),
        };
        match field {
            "data" => match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            "event" => self.event = Some(value.to_owned()),
            // An id with a NUL is ignored, per the standard.
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            _ => {} // `retry:` and unknown fields: nothing to do here.
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]]) -> Vec<SseMessage> {
        let mut p = SseParser::new();
        chunks.iter().flat_map(|c| p.push(c)).collect()
    }

    #[test]
    fn messages_split_anywhere_come_out_whole() {
        let stream = "id: 1\nevent: leg_final\ndata: {\"a\":1}\n\n: keep-alive\n\nid:2\r\nevent:x\r\ndata:é\r\ndata: two\r\n\r\n";
        let whole = all(&[stream.as_bytes()]);
        assert_eq!(
            whole,
            vec![
                SseMessage {
                    id: Some("1".into()),
                    event: "leg_final".into(),
                    data: "{\"a\":1}".into()
                },
                SseMessage { id: Some("2".into()), event: "x".into(), data: "é\ntwo".into() },
            ]
        );
        // Byte by byte (splitting the é and every \r\n) gives the same.
        let bytes: Vec<&[u8]> = stream.as_bytes().chunks(1).collect();
        assert_eq!(all(&bytes), whole);
    }

    #[test]
    fn no_data_no_message_and_bare_cr_ends_lines() {
        assert!(all(&[b"event: ping\n\n", b": comment\n\n"]).is_empty());
        let m = all(&[b"data\rdata: b\r\r"]);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].data, "\nb");
        assert_eq!(m[0].event, "message");
        assert_eq!(m[0].id, None);
        // A message without its blank line is not dispatched.
        assert!(all(&[b"id: 3\ndata: x\n"]).is_empty());
    }
}
