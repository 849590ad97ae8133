// Draining an HTTP/2 session (node:http2, h2c or TLS).
//
// At drain start, session.close(): Node sends GOAWAY (NO_ERROR) with the id of the last stream it took,
// lets every open stream finish, and closes the connection when the last one is done. A client that gets
// the GOAWAY sends its next requests on a new connection, which the new generation accepts.
//
// A request the client sent while the GOAWAY was on its way (its stream id is above the GOAWAY's last
// stream id) is refused: REFUSED_STREAM, which tells the client that nothing of it was processed and that
// it may send it again on a new connection (RFC 9113, section 8.7; browsers, curl and Go's client do so by
// themselves, Node's http2.connect reports it as an error). RFC 9113 section 6.8 describes how a server
// could avoid even that: a first GOAWAY with the largest stream id, a PING, and the real GOAWAY after the
// PING's answer. Node cannot do it: after any GOAWAY, nghttp2 stops reading as soon as no stream is open
// (nghttp2_session_want_read), so the streams in flight and the PING's answer are never read, and the
// session hangs until it is closed anyway (measured: a client with 2 requests in flight waited for good).
//
// At the close time (the deadline less the margin), the streams still open (a server-sent-events stream,
// a long download) are ended: END_STREAM after what was written, so the client sees a complete response.
// A stream that has not answered yet is cancelled (RST_STREAM CANCEL). Node has no public list of a
// session's streams; its internal one is looked up by name, and without it the session is destroyed.
import type { Http2Session, Http2Stream } from 'node:http2';

/**
 * HTTP/2's CANCEL error code (RFC 9113 section 7), as node:http2's constants name it: written out so that
 * the preload never loads node:http2 itself (about 12 ms at every child start) for an app that does not.
 */
const NGHTTP2_CANCEL = 0x8;

export function closeSession(session: Http2Session): void {
  if (!session.closed && !session.destroyed) session.close();
}

/** Node's private session state: { streams: Map<id, Http2Stream>, … } under the symbol named "state". */
function openStreams(session: Http2Session): Http2Stream[] | undefined {
  const key = Object.getOwnPropertySymbols(session).find((symbol) => symbol.description === 'state');
  const state = key && (session as unknown as Record<symbol, { streams?: unknown }>)[key];
  const streams = state?.streams;
  return streams instanceof Map ? [...streams.values()] : undefined;
}

/** End every stream of session that is still open: with END_STREAM if it has answered, else CANCEL. */
export function endSession(session: Http2Session): void {
  if (session.destroyed) return;
  closeSession(session);
  const streams = openStreams(session);
  if (!streams) {
    session.destroy();
    return;
  }
  for (const stream of streams) {
    if (stream.destroyed || stream.closed) continue;
    // The app may go on writing to it: that must not become an uncaught 'error' of a stream we ended.
    stream.on('error', () => {});
    const answered = (stream as Http2Stream & { headersSent?: boolean }).headersSent;
    if (answered) stream.end();
    else stream.close(NGHTTP2_CANCEL);
  }
}
