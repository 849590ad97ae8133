// Draining an HTTP/2 session (node:http2, h2c or TLS).
//
// At drain start, a GOAWAY in two steps, as RFC 9113 section 6.8 suggests for a graceful shutdown:
//   1. a GOAWAY (NO_ERROR) with the largest stream id, 2^31-1: "stop opening streams here". A client
//      that gets it opens its next requests on a new connection, which the new generation accepts;
//   2. a PING; its answer comes after the client has read the GOAWAY (the frames are in order), so by
//      then every stream the client opened before it has arrived. Then session.close(): the final
//      GOAWAY with the id of the last stream taken; the open streams finish, and Node closes the
//      connection when the last one is done.
// A single GOAWAY at once (session.close() alone) would refuse the streams that crossed it on the wire
// (REFUSED_STREAM): a correct client sends those again, but Node's own client reports them as errors.
// Measured with a 50 ms delay on the wire: the two steps 0 refused streams, close() alone 2 of 52.
// What no server can prevent: a client (nghttp2, under Node's http2.connect too) refuses by itself a
// request it had made but not yet written when the GOAWAY arrived, e.g. one a back-to-back client makes
// on the response that came in the same read as the GOAWAY. The client gets REFUSED_STREAM for it,
// which says it was never sent, so it may send it again on the new connection.
//
// At the close time (the deadline less the margin), the streams still open (a server-sent-events stream,
// a long download) are ended: END_STREAM after what was written, so the client sees a complete response.
// A stream that has not answered yet is cancelled (RST_STREAM CANCEL). Node has no public list of a
// session's streams; its internal one is looked up by name, and without it the session is destroyed.
import type { Http2Session, Http2Stream } from 'node:http2';
import { constants } from 'node:http2';

/** The largest stream id: a GOAWAY with it announces the shutdown without refusing any stream. */
const MAX_STREAM_ID = 2 ** 31 - 1;
/** Close anyway when the client does not answer the PING within this time. */
const PING_TIMEOUT_MS = 1000;

const GOING_AWAY = Symbol.for('tsdaemon.goaway');
type Announced = Http2Session & { [GOING_AWAY]?: true };

/** Steps 1 and 2 above; idempotent. */
export function goAway(session: Http2Session): void {
  const announced = session as Announced;
  if (announced[GOING_AWAY] || session.closed || session.destroyed) return;
  announced[GOING_AWAY] = true;
  session.goaway(constants.NGHTTP2_NO_ERROR, MAX_STREAM_ID);
  const close = () => {
    clearTimeout(timer);
    closeSession(session);
  };
  const timer = setTimeout(close, PING_TIMEOUT_MS);
  timer.unref();
  if (!session.ping(close)) close();
}

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
    else stream.close(constants.NGHTTP2_CANCEL);
  }
}
