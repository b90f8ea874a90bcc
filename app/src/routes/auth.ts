/** POST /api/auth/register and /api/auth/login. */
import type { RequestHandler, Response, Router } from "express";
import { signToken } from "../auth/jwt";
import { dummyPasswordHash, hashPassword, verifyPassword } from "../auth/password";
import { passwordProblem } from "../auth/password-policy";
import { EmailTakenError, type UserStore } from "../data/users";
import { HttpError, parse } from "../http/errors";
import type { LoginBackoff, RateLimiter } from "../http/rate-limit";
import { loginBody, registerBody } from "../http/schemas";

/** Responses carrying a token are never stored by a browser or proxy (RFC 6749 §5.1). */
function noStore(response: Response): void {
  response.setHeader("Cache-Control", "no-store");
  response.setHeader("Pragma", "no-cache");
}

export function authRoutes(
  router: Router,
  deps: {
    users: UserStore;
    limiter: RateLimiter;
    loginBackoff: LoginBackoff;
    jwtSecret: string;
    tokenTtlSeconds: number;
    /** Parses a JSON body (express.json), after the rate limit. */
    jsonBody: RequestHandler;
  },
): void {
  const { users, limiter, loginBackoff, jwtSecret, tokenTtlSeconds, jsonBody } = deps;
  const token = (user: { id: string; organization_id: string }) =>
    signToken({ sub: user.id, org: user.organization_id }, jwtSecret, tokenTtlSeconds);

  router.post("/auth/register", limiter.middleware("ip", "register"), jsonBody, async (request, response) => {
    noStore(response);
    const body = parse(registerBody, request.body, "body");
    const problem = passwordProblem(body.password, body.email);
    if (problem) throw new HttpError(400, "validation_failed", `body.password: ${problem}`);
    try {
      const user = await users.register({ ...body, passwordHash: await hashPassword(body.password) });
      response
        .status(201)
        .json({ user, access_token: await token(user), token_type: "Bearer", expires_in: tokenTtlSeconds });
    } catch (error) {
      if (error instanceof EmailTakenError)
        throw new HttpError(409, "email_taken", "body.email: already registered");
      throw error;
    }
  });

  router.post("/auth/login", limiter.middleware("login"), jsonBody, async (request, response) => {
    noStore(response);
    const body = parse(loginBody, request.body, "body");
    await loginBackoff.check(body.email);
    const user = await users.findByEmail(body.email);
    // Unknown emails cost a hash too, so response time does not tell which emails exist.
    const valid = await verifyPassword(body.password, user?.password_hash ?? (await dummyPasswordHash()));
    if (!user || !valid) {
      await loginBackoff.failed(body.email);
      throw new HttpError(401, "invalid_credentials", "email or password is wrong");
    }
    await loginBackoff.succeeded(body.email);
    response.json({ access_token: await token(user), token_type: "Bearer", expires_in: tokenTtlSeconds });
  });
}
