// Drives the demo page in Chromium: login, /me, an access-token expiry and its silent refresh, a
// cross-origin form post to /logout, and logout. Run by tests/browser.rs, which serves the demo
// on DEMO_URL and a page of another origin on OTHER_ORIGIN_URL, and moves the server's clock
// past the access token's expiry when this script prints "EXPIRE" (it answers "ok" on stdin).
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const { DEMO_URL, OTHER_ORIGIN_URL, CHROMIUM } = process.env;
const input = createInterface({ input: process.stdin });
const stdin = input[Symbol.asyncIterator]();

function check(condition, what) {
  if (!condition) throw new Error(`FAILED: ${what}`);
  console.log(`ok - ${what}`);
}

async function expire() {
  console.log("EXPIRE");
  const { value } = await stdin.next();
  if (value !== "ok") throw new Error(`the test answered ${JSON.stringify(value)}`);
}

// Clicks `button` and returns the response to the request it sends to `path`, once #out shows it.
async function click(page, button, path) {
  await page.evaluate(() => {
    document.querySelector("#out").textContent = "";
  });
  const [response] = await Promise.all([
    page.waitForResponse((r) => new URL(r.url()).pathname === path),
    page.click(button),
  ]);
  await page.waitForFunction(() => document.querySelector("#out").textContent !== "");
  return response;
}

const out = (page) => page.textContent("#out");
const tokenCookies = async (context) =>
  (await context.cookies(DEMO_URL)).filter((c) => c.name.endsWith("-token"));

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${DEMO_URL}/`);

  await page.fill("#username", "alice");
  await page.fill("#password", "demo");
  const login = await click(page, "#login", "/login/cookies");
  check(login.status() === 204 && (await out(page)) === "logged in as alice", "login");
  const cookies = await tokenCookies(context);
  check(
    cookies.length === 2 && cookies.every((c) => c.httpOnly && c.secure && c.sameSite === "Lax"),
    "both tokens are Secure, HttpOnly, SameSite=Lax cookies",
  );
  check((await page.evaluate(() => document.cookie)) === "", "document.cookie holds neither token");

  let me = await click(page, "#me", "/me");
  check(me.status() === 200 && JSON.parse(await out(page)).sub === "alice", "GET /me shows alice");
  check((await me.headerValue("set-cookie")) === null, "a valid access token is not refreshed");

  const access = (await tokenCookies(context)).find((c) => c.name.includes("access")).value;
  await expire();
  me = await click(page, "#me", "/me");
  check(me.status() === 200 && JSON.parse(await out(page)).sub === "alice", "GET /me after expiry");
  check((await me.headerValue("cache-control")) === "no-store", "the refresh is not cacheable");
  const renewed = (await tokenCookies(context)).find((c) => c.name.includes("access"));
  check(renewed && renewed.value !== access && renewed.httpOnly, "the access cookie was renewed");
  check((await page.evaluate(() => document.cookie)) === "", "document.cookie is still empty");

  // A page of another origin posts a form to /logout: the browser sends the cookies along.
  const other = await context.newPage();
  await other.goto(`${OTHER_ORIGIN_URL}/`);
  const [forged] = await Promise.all([
    other.waitForResponse((r) => new URL(r.url()).pathname === "/logout"),
    other.click("#forge"),
  ]);
  check(forged.status() === 403, "a form posted to /logout from another origin gets 403");
  await other.close();
  me = await click(page, "#me", "/me");
  check(me.status() === 200, "the session survived the forged logout");

  const logout = await click(page, "#logout", "/logout");
  check(logout.status() === 204 && (await out(page)) === "logged out", "logout");
  check((await tokenCookies(context)).length === 0, "logout removed both cookies");
  me = await click(page, "#me", "/me");
  check(me.status() === 401 && (await out(page)).startsWith("401"), "GET /me after logout shows 401");
  console.log("DONE");
} finally {
  await browser.close();
  input.close();
}
