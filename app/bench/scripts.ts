/**
 * wrk Lua scripts for the authenticated scenarios. Each request takes the next of many users (logged
 * in once, before the load), so the per-user rate limit sees a realistic share of the traffic.
 *
 * Every wrk run of a bench gets its own `run` number: the request counter, which also numbers the
 * messages, starts at `run` × 10^7, because wrk restarts a script's state every run, and a question
 * asked again (after a warm-up, in the next step) is answered from the response cache instead of by
 * the provider.
 */

/** A Lua long-bracket string literal (no escaping needed inside). */
const lua = (text: string) => `[==[${text}]==]`;
const luaList = (items: string[]) => `{${items.map(lua).join(",")}}`;

export interface Users {
  tokens: string[];
  /** One conversation per user, same order as `tokens`. */
  conversations: string[];
}

/**
 * What Cloudflare adds to every request it sends to an origin, on every plan: `accept-encoding: br, gzip`
 * (developers.cloudflare.com/speed/optimization/content/compression, "Between Cloudflare and the origin
 * server"; cloudflare/cloudflare-docs@1e70830). Every production request reaches a pod through it.
 */
export const cloudflareOriginHeaders: Readonly<Record<string, string>> = { "Accept-Encoding": "br, gzip" };

/**
 * Shared prelude: the users, a per-thread counter so threads start at different users, and `call`,
 * which sends every request with the user's token and `headers`.
 */
function prelude(
  { tokens, conversations }: Users,
  run: number,
  headers: Readonly<Record<string, string>>,
): string {
  const fixed = Object.entries(headers)
    .map(([name, value]) => `  headers[ ${lua(name)} ] = ${lua(value)}\n`)
    .join("");
  return `
local tokens = ${luaList(tokens)}
local conversations = ${luaList(conversations)}
local threads = 0
setup = function(thread)
  thread:set("thread_index", threads)
  threads = threads + 1
end
local counter = 0
init = function(args)
  counter = ${run * 10_000_000} + (thread_index or 0) * 7919
end
local function call(method, path, user, body)
  local headers = { ["Authorization"] = "Bearer " .. tokens[user] }
${fixed}  if body then headers["Content-Type"] = "application/json" end
  return wrk.format(method, path, headers, body)
end
`;
}

/**
 * Every request the same route, each from the next user. `{conversation}` in `path` becomes that
 * user's conversation, `{cursor}` that user's entry of `cursors`; `%d` in `body` a request counter (so
 * no two messages are the same).
 */
export function cyclingRequests(
  options: Users & {
    path: string;
    method?: string;
    body?: (counterPlaceholder: string) => string;
    /** One per user, same order as `tokens`. */
    cursors?: string[];
  },
  run: number,
): string {
  const body = options.body ? lua(JSON.stringify({ content: options.body("%d") })) : "nil";
  return `${prelude(options, run, {})}
local cursors = ${luaList(options.cursors ?? [])}
request = function()
  counter = counter + 1
  local user = (counter % #tokens) + 1
  local path = string.gsub(${lua(options.path)}, "{conversation}", conversations[user])
  if #cursors > 0 then path = string.gsub(path, "{cursor}", cursors[user]) end
  local body = ${body}
  if body then body = string.format(body, counter) end
  return call(${lua(options.method ?? "GET")}, path, user, body)
end
`;
}

/**
 * The mixed user: list chatbots, send a message, read analytics in 3 : 2 : 1. Users take turns
 * (request n is user n mod users), each walking through that cycle from its own place in it (user u
 * is at step (round + u) mod 6), so a run serves 3 : 2 : 1 however long it is (any 100 requests of
 * 500 users within 2 points) — in lockstep, a run would open with 3 × users lists. `headers` go on
 * every request (the capacity's: what Cloudflare sends an origin).
 */
export function mixedUser(users: Users, run: number, headers: Readonly<Record<string, string>> = {}): string {
  return `${prelude(users, run, headers)}
request = function()
  counter = counter + 1
  local user = (counter % #tokens) + 1
  local step = (math.floor(counter / #tokens) + user) % 6
  if step < 3 then
    return call("GET", "/api/chatbots", user, nil)
  elseif step < 5 then
    local body = string.format('{"content":"What are your opening hours? (%d)"}', counter)
    return call("POST", "/api/conversations/" .. conversations[user] .. "/messages", user, body)
  else
    return call("GET", "/api/analytics/dashboard", user, nil)
  end
end
`;
}
