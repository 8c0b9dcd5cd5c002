// Drives the workbench page for the suite: the extension host cannot click inside a webview, so a test
// writes a request to $HALOC_TEST_UI_DIR/request.json and this driver, in the runner, performs it with
// playwright on the page (real key presses and clicks in the Pareto explorer's webview) and answers in
// response.json. Only the code-server runner has a page; under test-electron the suite skips such tests.
//
// Requests: { action: 'paretoKeys', keys: ['Home', ...] } presses keys on the focused chart;
// { action: 'paretoClick', text: 'Compress to this point' } clicks the webview button with that text;
// { action: 'screenshot', name: 'pareto', wideSideBar?: false } saves media/screenshot-<name>.png when
// HALOC_SCREENSHOT=1 (the side bar widened to 480 px unless wideSideBar is false);
// { action: 'explorerContextMenu', file: 'model.onnx', item: 'Compress Model...', screenshot?: 'context-menu' }
// right-clicks the file's row in the Explorer (shown first through its activity-bar icon), answers the
// menu's entries, saves the open menu as media/screenshot-<screenshot>.png (HALOC_SCREENSHOT=1) and clicks
// the entry whose label is `item`;
// { action: 'quickPick', title: '(1/4)', item: 'This machine', by: 'click' | 'enter' | 'type' } waits for the
// quick input whose title contains `title`, answers its title and rows, and picks the row whose label
// contains `item`: a click on it, Enter when it is the highlighted row (else an error), or typing `item`
// into the filter box then Enter;
// { action: 'editorText', text: 'rank 8 · ' } waits until the visible lines of an editor show `text` (inlay
// hints included: they are rendered as text in the line);
// { action: 'notificationButton', message: 'front point', button: 'Show Pareto Explorer' } clicks the
// button of the newest notification whose text contains `message`: on its toast, or in the notification
// centre opened with the status bar's bell (code-server with the smoke-test driver shows no toasts).
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

/** Text of a locator's elements, whitespace collapsed. */
async function texts(locator) {
  return (await locator.allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
}

/** Saves the page as media/screenshot-<name>.png; undefined (and nothing saved) without HALOC_SCREENSHOT=1. */
async function save(page, screenshotDir, name) {
  if (!screenshotDir || !name) return undefined;
  const file = path.join(screenshotDir, `screenshot-${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The Explorer's row of `file` (a name in the workspace's root folder), the Explorer shown first. */
async function explorerRow(page, file) {
  const view = page.locator('.explorer-folders-view');
  if (!(await view.isVisible())) {
    // The activity-bar icon; a click on the icon of the view already shown would hide the side bar.
    await page.locator('.activitybar .action-item a[aria-label^="Explorer"]').first().click();
    await view.waitFor({ state: 'visible', timeout: 30000 });
  }
  const name = page.locator('.label-name', { hasText: new RegExp(`^\\s*${escapeRegExp(file)}\\s*$`) });
  const row = view.locator('.monaco-list-row').filter({ has: name }).first();
  await row.waitFor({ state: 'visible', timeout: 30000 });
  return row;
}

/** The quick input widget once its title contains `title`; answers its title and the labels of its rows. */
async function quickInput(page, title, timeoutMs = 60000) {
  const widget = page.locator('.quick-input-widget');
  const titleLocator = widget.locator('.quick-input-title');
  await titleLocator.filter({ hasText: title }).waitFor({ state: 'visible', timeout: timeoutMs });
  const rows = widget.locator('.quick-input-list .monaco-list-row');
  await rows.first().waitFor({ state: 'visible', timeout: 30000 });
  return { widget, rows, title: (await titleLocator.innerText()).trim() };
}

export async function perform(page, request, screenshotDir) {
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
      const bar = request.wideSideBar === false ? null : await page.locator('.part.sidebar').boundingBox();
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
    case 'explorerContextMenu': {
      const row = await explorerRow(page, request.file);
      await row.click({ button: 'right' });
      const menu = page.locator('.context-view .monaco-menu').first();
      await menu.waitFor({ state: 'visible', timeout: 30000 });
      const labels = await texts(menu.locator('.action-item:not(.disabled) .action-label'));
      const entry = menu.locator('.action-item .action-label', { hasText: new RegExp(`^\\s*${escapeRegExp(request.item)}\\s*$`) }).first();
      if (!(await entry.count())) {
        await page.keyboard.press('Escape');
        throw new Error(`the context menu of ${request.file} has no entry '${request.item}' (entries: ${labels.join(' | ')})`);
      }
      await entry.hover(); // as a user's pointer on the way to the entry highlights it
      const file = await save(page, screenshotDir, request.screenshot);
      await entry.click();
      await menu.waitFor({ state: 'hidden', timeout: 10000 });
      return { items: labels, ...(file ? { file } : {}) };
    }
    case 'quickPick': {
      const { widget, rows, title } = await quickInput(page, request.title);
      const label = '.quick-input-list-rows > .quick-input-list-row:first-child .label-name'; // (the second row is the detail)
      const items = await texts(rows.filter({ visible: true }).locator(label));
      const row = rows.filter({ visible: true }).filter({ has: page.locator(label, { hasText: request.item }) }).first();
      const by = request.by ?? 'click';
      if (by === 'type') {
        await widget.locator('.quick-input-box input').pressSequentially(request.item, { delay: 20 });
        // The filter leaves the matching rows, the first one highlighted: Enter picks it.
        await rows.and(page.locator('.focused')).filter({ has: page.locator(label, { hasText: request.item }) }).waitFor({ state: 'visible', timeout: 10000 });
        await page.keyboard.press('Enter');
      } else {
        if (!(await row.count())) throw new Error(`the quick pick '${title}' has no row '${request.item}' (rows: ${items.join(' | ')})`);
        if (by === 'enter') {
          const focused = await texts(rows.and(page.locator('.focused')).locator(label));
          if (!focused.some((t) => t.includes(request.item))) throw new Error(`the quick pick '${title}' highlights '${focused.join(', ')}', not '${request.item}'`);
          await page.keyboard.press('Enter');
        } else await row.click();
      }
      await page.locator('.quick-input-title', { hasText: request.title }).waitFor({ state: 'hidden', timeout: 30000 });
      return { title, items };
    }
    case 'editorText': {
      await page.locator('.editor-instance .monaco-editor .view-lines', { hasText: request.text }).first().waitFor({ state: 'visible', timeout: 30000 });
      return {};
    }
    case 'notificationButton': {
      // The toast; else the notification centre opened from the status bar's bell, as a user who missed
      // the toast would. (The workbench shows no toasts at all with enable-smoke-test-driver, which the
      // runner needs, and an info toast hides after 10 s.)
      const item = (where) => page.locator(`${where} .notification-list-item`, { hasText: request.message }).last();
      const centre = page.locator('.notifications-center');
      const bell = page.locator('.statusbar-item[id="status.notifications"]');
      let notification = item('.notifications-toasts');
      let from = 'toast';
      try {
        await notification.waitFor({ state: 'visible', timeout: 2000 });
      } catch {
        // (The bell toggles the centre: click it only while the centre is closed.)
        if (!(await centre.isVisible())) await bell.click();
        notification = item('.notifications-center');
        from = 'notification centre';
        await notification.waitFor({ state: 'visible', timeout: 10000 });
      }
      const message = (await notification.locator('.notification-list-item-message').innerText()).trim();
      await notification.locator('.monaco-button', { hasText: request.button }).first().click();
      await page.waitForTimeout(500);
      if (await centre.isVisible()) await bell.click(); // closed again, as it was (it closes by itself once empty)
      return { message, from };
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
