/**
 * The app for `npm run bench`, in its own process: configured from the environment like the
 * container, with rate limits raised out of the way (the load comes from one address and one user).
 */
import { loadConfig } from "../src/config";
import { startParley } from "../src/main";

const config = loadConfig(process.env);
const unlimited = { limit: 1_000_000_000, windowSeconds: 60 };
config.rateLimits = { ip: unlimited, user: unlimited, login: unlimited, register: unlimited };
void startParley(config).then((app) => {
  process.once("SIGTERM", () => void app.close().then(() => process.exit(0)));
});
