/** POST /api/auth/register and /api/auth/login. */
import type { Router } from "express";
import { signToken } from "../auth/jwt";
import { dummyPasswordHash, hashPassword, verifyPassword } from "../auth/password";
import { EmailTakenError, type UserStore } from "../data/users";
import { HttpError, parse } from "../http/errors";
import type { RateLimiter } from "../http/rate-limit";
import { loginBody, registerBody } from "../http/schemas";

export function authRoutes(
  router: Router,
  deps: { users: UserStore; limiter: RateLimiter; jwtSecret: string; tokenTtlSeconds: number },
): void {
  const { users, limiter, jwtSecret, tokenTtlSeconds } = deps;
  const token = (user: { id: string; organization_id: string }) =>
    signToken({ sub: user.id, org: user.organization_id }, jwtSecret, tokenTtlSeconds);

  router.post("/api/auth/register", limiter.middleware("ip"), async (request, response) => {
    const body = parse(registerBody, request.body, "body");
    try {
      const user = await users.register({ ...body, passwordHash: await hashPassword(body.password) });
      response
        .status(201)
        .json({ user, access_token: token(user), token_type: "Bearer", expires_in: tokenTtlSeconds });
    } catch (error) {
      if (error instanceof EmailTakenError)
        throw new HttpError(409, "email_taken", "body.email: already registered");
      throw error;
    }
  });

  router.post("/api/auth/login", limiter.middleware("login"), async (request, response) => {
    const body = parse(loginBody, request.body, "body");
    const user = await users.findByEmail(body.email);
    // Unknown emails cost a hash too, so response time does not tell which emails exist.
    const valid = await verifyPassword(body.password, user?.password_hash ?? (await dummyPasswordHash()));
    if (!user || !valid) throw new HttpError(401, "invalid_credentials", "email or password is wrong");
    response.json({ access_token: token(user), token_type: "Bearer", expires_in: tokenTtlSeconds });
  });
}
