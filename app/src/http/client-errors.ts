/**
 * Requests Node's HTTP parser refuses before Express sees them — a request line and headers over
 * the header size limit (16 KB), bytes that are not HTTP, headers or a body not received within
 * the server's timeouts — get the API's JSON error body too. By default Node writes a bare status
 * line; a `clientError` listener has no response object and writes to the socket itself, and must not
 * write once a response has started on that connection (Node's http docs, event 'clientError').
 */
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";

interface Refusal {
  status: number;
  code: string;
  message: string;
}

const refusals: Readonly<Record<string, Refusal>> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: "headers_too_large",
    message: "the request line and headers exceed 16 KB",
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    code: "request_timeout",
    message: "the request was not received in time",
  },
};
const malformed: Refusal = {
  status: 400,
  code: "malformed_request",
  message: "the request is not valid HTTP",
};

/** The raw HTTP response for a parser error. */
export function clientErrorResponse(error: { code?: string }): string {
  const { status, code, message } = refusals[error.code ?? ""] ?? malformed;
  const body = JSON.stringify({ error: { code, message } });
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
    "Content-Type: application/json; charset=utf-8",
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Connection: close",
    "",
    body,
  ].join("\r\n");
}

/**
 * The server's `clientError` listener: the JSON refusal, then the socket closed (an HTTP server's
 * sockets are half-open, so a client that never closes its side would otherwise keep it).
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  // Node's own refusal writes unless the response in flight on the connection has put bytes on it
  // (socketOnError in lib/_http_server.js: `!socket._httpMessage || !socket._httpMessage._headerSent`).
  // Bytes written by earlier answers on a keep-alive connection do not count: the next request's
  // refusal is still owed.
  const inFlight = (socket as { _httpMessage?: { _headerSent?: boolean } | null })._httpMessage;
  const alreadyAnswering = inFlight?._headerSent === true;
  if (error.code === "ECONNRESET" || !socket.writable || alreadyAnswering) {
    socket.destroy();
    return;
  }
  socket.end(clientErrorResponse(error), () => socket.destroy());
}
