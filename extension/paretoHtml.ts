// The HTML of the Pareto explorer webview: the bundled script (dist/webview.js, which holds the
// toolkit and ECharts) and its stylesheet (dist/webview.css), under a strict content security policy:
// nothing loads but the extension's own files, and only the script carrying this page's nonce runs
// (the toolkit's one probing <style> element takes the nonce from the csp-nonce meta tag).
import { randomBytes } from 'node:crypto';
import type * as vscode from 'vscode';

/** A fresh nonce for one page. */
export function makeNonce(): string {
  return randomBytes(18).toString('base64').replace(/[^A-Za-z0-9]/g, '');
}

/** The content security policy of a page with this nonce and webview source. */
export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [`default-src 'none'`, `img-src ${cspSource} data:`, `style-src ${cspSource} 'nonce-${nonce}'`, `font-src ${cspSource}`, `script-src 'nonce-${nonce}'`].join('; ');
}

/** The page of the panel, loading the bundle from `distUri` (the extension's dist/ folder). */
export function paretoHtml(webview: vscode.Webview, distUri: vscode.Uri, nonce = makeNonce()): string {
  const asset = (name: string): string => webview.asWebviewUri(vscodeJoin(distUri, name)).toString();
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(webview.cspSource, nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta property="csp-nonce" content="${nonce}">
<link rel="stylesheet" href="${asset('webview.css')}">
<title>Pareto Explorer</title>
</head>
<body>
<main id="app" aria-label="HALOC Pareto explorer"></main>
<script nonce="${nonce}" src="${asset('webview.js')}"></script>
</body>
</html>`;
}

// Uri.joinPath without a runtime vscode import here (keeps the module loadable in unit tests).
function vscodeJoin(base: vscode.Uri, name: string): vscode.Uri {
  return base.with({ path: `${base.path.replace(/\/$/, '')}/${name}` });
}
