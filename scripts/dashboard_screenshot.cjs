// Screenshot of the demo's HA dashboard with headless Chromium (used for docs/demo.md).
//   npm install playwright-core   (anywhere; then NODE_PATH=that/node_modules)
//   node scripts/dashboard_screenshot.cjs [OUT.png] [PATH]    while scripts/demo runs
// Logs in by putting the session tokens that scripts/hsi_demo.py saved in
// .demo/tokens.json into the frontend's localStorage ("hassTokens").
const { chromium } = require("playwright-core");
const fs = require("fs");
const path = require("path");

const HA = "http://127.0.0.1:8123";
const out = process.argv[2] || path.join(__dirname, "..", "docs", "demo-dashboard.png");
const page_path = process.argv[3] || "/lovelace/0";
const tokens = JSON.parse(fs.readFileSync(path.join(__dirname, "..", ".demo", "tokens.json")));

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
  await page.waitForTimeout(8000);
  await page.screenshot({ path: out });
  await browser.close();
  console.log(`saved ${out}`);
})();
