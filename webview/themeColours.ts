// The chart's colours from the VS Code theme's CSS variables (ECharts draws on a canvas and needs
// concrete colour strings), re-read whenever the theme changes (VS Code swaps the body's class and
// the variables on <html> when the user changes the colour theme).
import type { ChartTheme } from './chartOptions';

function cssVariable(style: CSSStyleDeclaration, names: readonly string[], fallback: string): string {
  for (const name of names) {
    const value = style.getPropertyValue(name).trim();
    if (value) return value;
  }
  return fallback;
}

/** The chart theme of the current VS Code colour theme. */
export function readTheme(): ChartTheme {
  const style = getComputedStyle(document.documentElement);
  const v = (names: readonly string[], fallback: string): string => cssVariable(style, names, fallback);
  const foreground = v(['--vscode-charts-foreground', '--vscode-foreground'], '#cccccc');
  return {
    foreground,
    mutedForeground: v(['--vscode-descriptionForeground'], foreground),
    gridLine: v(['--vscode-charts-lines', '--vscode-editorWidget-border'], '#80808040'),
    background: v(['--vscode-editorHoverWidget-background', '--vscode-editorWidget-background'], '#252526'),
    border: v(['--vscode-editorHoverWidget-border', '--vscode-widget-border', '--vscode-contrastBorder'], '#454545'),
    selection: v(['--vscode-focusBorder'], '#007fd4'),
    groups: {
      front: v(['--vscode-charts-blue'], '#3794ff'),
      uniform: v(['--vscode-charts-orange'], '#d18616'),
      energy: v(['--vscode-charts-green'], '#89d185'),
      flops: v(['--vscode-charts-purple'], '#b180d7'),
    },
  };
}

/** Calls `onChange` with the new theme whenever the colour theme changes; returns a stop function. */
export function watchTheme(onChange: (theme: ChartTheme) => void): () => void {
  const observer = new MutationObserver(() => onChange(readTheme()));
  observer.observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-id'] });
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style'] });
  return () => observer.disconnect();
}
