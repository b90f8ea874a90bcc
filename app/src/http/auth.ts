/** Bearer-token authentication for /api routes (except auth). */
import type { NextFunction, Request, RequestHandler, Response } from "express";
import { TokenError, tokenVerifier } from "../auth/jwt";
import { HttpError } from "./errors";

export function requireAuth(secret: string, ttlSeconds: number): RequestHandler {
  const verify = tokenVerifier(secret, ttlSeconds);
  return async (request: Request, response: Response, next: NextFunction) => {
    const header = request.get("authorization") ?? "";
    const match = /^Bearer ([\w-]+\.[\w-]+\.[\w-]*)$/i.exec(header.trim());
    if (!match) {
      response.setHeader("WWW-Authenticate", 'Bearer realm="parley"');
      throw new HttpError(401, "unauthorized", "missing or malformed Authorization: Bearer <token> header");
    }
    try {
      const claims = await verify(match[1]!);
      request.auth = { userId: claims.sub, organizationId: claims.org };
    } catch (error) {
      if (!(error instanceof TokenError)) throw error;
      response.setHeader("WWW-Authenticate", 'Bearer realm="parley", error="invalid_token"');
      throw new HttpError(401, "invalid_token", error.message);
    }
    next();
  };
}
