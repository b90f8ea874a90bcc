/**
 * The request and response classes of the API's HTTP server, made from the app's own prototypes.
 * Express's app.handle gives every request and response the app's prototypes (app.request and
 * app.response) with Object.setPrototypeOf, once per request (express/lib/application.js, 5.x).
 * Created as instances of classes whose prototypes they are (http.createServer's IncomingMessage and
 * ServerResponse options, "useful for extending the original"), each already has its prototype, so
 * the swap changes nothing: no per-request change of every request's and response's hidden class.
 */
import { IncomingMessage, ServerResponse } from "node:http";
import type { Express, Request, Response } from "express";

export function appServerClasses(app: Express): {
  IncomingMessage: typeof IncomingMessage;
  ServerResponse: typeof ServerResponse;
} {
  class AppRequest extends IncomingMessage {}
  Object.setPrototypeOf(AppRequest.prototype, app.request);
  app.request = AppRequest.prototype as unknown as Request;
  class AppResponse<Incoming extends IncomingMessage = IncomingMessage> extends ServerResponse<Incoming> {}
  Object.setPrototypeOf(AppResponse.prototype, app.response);
  app.response = AppResponse.prototype as unknown as Response;
  return { IncomingMessage: AppRequest, ServerResponse: AppResponse };
}
