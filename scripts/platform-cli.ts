/**
 * `npm run platform -- <action> [server]`: fault drills on the running `npm start` (same state folder,
 * PARLEY_STATE_DIR or .state/local). Actions: status, stop, start, pause (SIGSTOP: frozen), unpause.
 * Exit 0 when done, 1 when it could not be done, 2 on a usage error; always one readable answer.
 */
import { resolve } from "node:path";
import { type ControlAction, controlActions, sendControl } from "./platform/control";
import { serverNames } from "./platform/index";

const usage = `usage: npm run platform -- <${controlActions.join("|")}> [${serverNames.join("|")}]`;

async function main(): Promise<number> {
  const [action, name, ...rest] = process.argv.slice(2);
  if (!action || !(controlActions as readonly string[]).includes(action) || rest.length > 0) {
    console.error(action ? `unknown action "${action}" — ${usage}` : usage);
    return 2;
  }
  if (action !== "status" && !(serverNames as readonly string[]).includes(name ?? "")) {
    console.error(`${name ? `unknown server "${name}"` : "which server?"} — ${usage}`);
    return 2;
  }
  const stateDir = resolve(process.env.PARLEY_STATE_DIR ?? ".state/local");
  const reply = await sendControl(stateDir, action as ControlAction, name);
  (reply.ok ? console.log : console.error)(reply.message);
  return reply.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`npm run platform: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
