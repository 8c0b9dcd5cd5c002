// Drives the workbench page for the suite: the extension host cannot click inside a webview, so a test
// writes a request to $HALOC_TEST_UI_DIR/request.json and this driver, in the runner, performs it with
// playwright on the page (real key presses and clicks in the Pareto explorer's webview) and answers in
// response.json. Only the code-server runner has a page; under test-electron the suite skips such tests.
//
// Requests: { action: 'paretoKeys', keys: ['Home', ...] } presses keys on the focused chart;
// { action: 'paretoClick', text: 'Compress to this point' } clicks the webview button with that text;
// { action: 'screenshot', name: 'pareto' } saves media/screenshot-<name>.png when HALOC_SCREENSHOT=1.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The frame of the webview whose document holds `selector` (webviews nest two iframes deep). */
async function webviewFrame(page, selector, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      if (await frame.locator(selector).count().catch(() => 0)) return frame;
    }
    await page.waitForTimeout(250);
  }
  throw new Error(`no webview frame shows ${selector} after ${timeoutMs / 1000} s`);
}

async function perform(page, request, screenshotDir) {
  const pareto = () => webviewFrame(page, 'main#app[aria-label="HALOC Pareto explorer"]');
  switch (request.action) {
    case 'paretoKeys': {
      const frame = await pareto();
      await frame.locator('.chart').focus();
      for (const key of request.keys) await page.keyboard.press(key);
      return {};
    }
    case 'paretoClick': {
      const frame = await pareto();
      const button = frame.locator('vscode-button', { hasText: request.text }).first();
      await button.waitFor({ state: 'visible', timeout: 30000 });
      await button.click();
      return {};
    }
    case 'screenshot': {
      if (!screenshotDir) return { skipped: 'HALOC_SCREENSHOT is not 1' };
      const file = path.join(screenshotDir, `screenshot-${request.name}.png`);
      // A wider side bar than the default, as a user exploring the front would make it.
      const bar = await page.locator('.part.sidebar').boundingBox();
      if (bar && bar.width < 480) {
        const y = bar.y + bar.height / 2;
        await page.mouse.move(bar.x + bar.width + 1, y);
        await page.mouse.down();
        await page.mouse.move(bar.x + 480, y, { steps: 10 });
        await page.mouse.up();
      }
      await page.waitForTimeout(1000); // let the chart's animation end
      await page.screenshot({ path: file });
      return { file };
    }
    default:
      throw new Error(`unknown UI request ${JSON.stringify(request)}`);
  }
}

/** Answers the suite's UI requests in `dir` until the returned function is called. */
export function serveUiRequests(page, dir, { screenshotDir, log }) {
  fs.mkdirSync(dir, { recursive: true });
  const requestFile = path.join(dir, 'request.json');
  let busy = false;
  const timer = setInterval(async () => {
    if (busy || !fs.existsSync(requestFile)) return;
    busy = true;
    let response;
    try {
      const request = JSON.parse(fs.readFileSync(requestFile, 'utf8'));
      fs.rmSync(requestFile);
      log(`UI request ${JSON.stringify(request)}`);
      response = { ok: true, ...(await perform(page, request, screenshotDir)) };
    } catch (e) {
      response = { ok: false, error: e instanceof Error ? e.message.split('\n')[0] : String(e) };
    }
    const temporary = path.join(dir, 'response.json.tmp');
    fs.writeFileSync(temporary, JSON.stringify(response));
    fs.renameSync(temporary, path.join(dir, 'response.json'));
    busy = false;
  }, 200);
  return () => clearInterval(timer);
}
