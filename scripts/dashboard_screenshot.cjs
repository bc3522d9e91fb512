// Screenshot of the demo's HA frontend with headless Chromium (used for docs/demo.md).
//   npm install playwright-core   (anywhere; then NODE_PATH=that/node_modules)
//   node scripts/dashboard_screenshot.cjs [OUT.png] [PATH] [SHOW]    while scripts/demo runs
// SHOW: "notifications" opens the notification drawer; "click:<label>" clicks the button
// with that label (such as the calendar's "List (7 days)"); "options:<title>" opens the first
// integration's Configure dialog (PATH: its integration page) and presses Submit/Next until
// the step titled <title> shows.
// Logs in by putting the session tokens that scripts/hsi_demo.py saved in
// .demo/tokens.json into the frontend's localStorage ("hassTokens").
const { chromium } = require("playwright-core");
const fs = require("fs");
const path = require("path");

const HA = "http://127.0.0.1:8123";
const out = process.argv[2] || path.join(__dirname, "..", "docs", "demo-dashboard.png");
const page_path = process.argv[3] || "/lovelace/0";
const show = process.argv[4] || "";
const settle = Number(process.env.SCREENSHOT_WAIT_MS || 8000);
const tokens = JSON.parse(fs.readFileSync(path.join(__dirname, "..", ".demo", "tokens.json")));

async function showOptionsStep(page, title) {
  await page.getByRole("button", { name: "Configure" }).first().click();
  const heading = page.locator("dialog-data-entry-flow").getByText(title, { exact: true });
  for (let step = 0; step < 6; step++) {
    try {
      await heading.waitFor({ timeout: settle });
      return;
    } catch {
      await page.getByRole("button", { name: /^(Submit|Next)$/ }).last().click();
    }
  }
  throw new Error(`no options step titled ${title}`);
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--no-first-run"],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(`${HA}/auth/authorize`);  // any page on the origin, to reach its storage
  await page.evaluate((t) => {
    localStorage.setItem("hassTokens", JSON.stringify({
      hassUrl: t.ha, clientId: `${t.ha}/`, access_token: t.access_token, token_type: "Bearer",
      refresh_token: t.refresh_token, expires_in: 1800, expires: 0,  // expired: refreshed at once
    }));
  }, { ...tokens, ha: HA });
  await page.goto(`${HA}${page_path}`);
  await page.waitForTimeout(settle);
  if (show === "notifications") {
    await page.evaluate(() => {
      const main = document.querySelector("home-assistant").shadowRoot
        .querySelector("home-assistant-main");
      main.dispatchEvent(new CustomEvent("hass-show-notifications", { bubbles: true, composed: true }));
    });
    await page.waitForTimeout(3000);
  } else if (show.startsWith("click:")) {
    await page.getByRole("button", { name: show.slice("click:".length) }).first().click();
    await page.waitForTimeout(3000);
  } else if (show.startsWith("options:")) {
    await showOptionsStep(page, show.slice("options:".length));
    await page.waitForTimeout(2000);
  }
  await page.screenshot({ path: out });
  await browser.close();
  console.log(`saved ${out}`);
})();
