// The DOM of the Pareto panel, built once from the webview UI toolkit's components: the model
// dropdown (shown when several models have results), the x-axis radio group, the stale banner, the
// focusable chart with its live region, the selected point's figures with their provenance, the
// "Compress to this point" button and the per-layer ranks grid; and the empty state. `render` puts a
// PanelState on screen; user actions go to the callbacks.
import type { DataGrid } from '@vscode/webview-ui-toolkit';
import { chartCaption, type ChartTheme } from './chartOptions';
import { originalFigures, pointFigures, type Figure } from './figures';
import { selectedPoint, type PanelState } from './panelState';
import { ParetoChart } from './paretoChart';
import { isXAxis, type PanelModel, type XAxis } from './protocol';
import { ranksColumns, ranksGridTemplate, ranksRows, ranksSummary } from './ranksTable';

/** What the user can do in the panel. */
export interface PanelActions {
  select(pointId: string): void;
  /** `confirm`: ask before writing (keyboard Enter). */
  compress(confirm: boolean): void;
  axis(axis: XAxis): void;
  model(uri: string): void;
  runSearch(): void;
  /** A navigation key pressed on the chart. */
  key(event: KeyboardEvent): void;
}

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function custom(tag: string, attributes: Readonly<Record<string, string>> = {}, text?: string): HTMLElement {
  const e = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) e.setAttribute(name, value);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The panel's elements and their rendering. */
export class PanelView {
  private readonly empty = element('div', 'empty');
  private readonly result = element('div', 'result');
  private readonly stale = element('div', 'stale-banner');
  private readonly modelPicker = element('div', 'model-picker');
  private readonly modelDropdown = custom('vscode-dropdown', { 'aria-label': 'Model' }) as HTMLElement & { value: string };
  private readonly axisGroup = custom('vscode-radio-group', { orientation: 'horizontal' }) as HTMLElement & { value: string };
  private readonly meta = element('div', 'meta');
  private readonly caption = element('p', 'chart-caption');
  private readonly chartBox = element('div', 'chart');
  private readonly live = element('div', 'visually-hidden');
  private readonly details = element('section', 'details');
  private readonly detailsTitle = element('h3');
  private readonly figures = element('dl', 'figures');
  private readonly compressButton = custom('vscode-button', { appearance: 'primary' }, 'Compress to this point');
  private readonly summary = element('p', 'summary');
  private readonly grid = custom('vscode-data-grid', { 'aria-label': 'Ranks of the selected point', 'generate-header': 'sticky' }) as HTMLElement & DataGrid;
  private chart: ParetoChart | undefined;
  private models: readonly PanelModel[] = [];

  constructor(root: HTMLElement, private readonly actions: PanelActions) {
    this.buildEmpty();
    this.buildResult();
    root.append(this.empty, this.result);
  }

  /** Puts a state on screen. */
  render(state: PanelState, theme: ChartTheme): void {
    const show = state.show;
    this.empty.hidden = show !== null;
    this.result.hidden = show === null;
    if (!show) {
      this.empty.querySelector('.waiting')?.toggleAttribute('hidden', state.empty);
      this.empty.querySelector('.how')?.toggleAttribute('hidden', !state.empty);
      return;
    }
    this.stale.hidden = !show.stale;
    this.renderModels(show.models, show.model.uri);
    if (this.axisGroup.value !== state.axis) this.axisGroup.value = state.axis;
    this.meta.textContent = `${show.model.label}: ${show.labels.mode} search, target ${show.labels.target}; ${show.labels.settings}; ${new Date(show.labels.createdAt).toLocaleString()}`;
    this.chart ??= new ParetoChart(this.chartBox, (id) => this.actions.select(id));
    this.chart.render(show, state.axis, state.selectedId, theme);
    this.caption.textContent = chartCaption(show, state.axis);
    this.chartBox.setAttribute('aria-label', `Pareto front of ${show.model.label}: ${show.points.length} points. Arrow keys move the selection, Enter compresses the model to the selected point.`);
    this.renderDetails(state);
    this.compressButton.toggleAttribute('disabled', state.busy || selectedPoint(state) === undefined);
    this.compressButton.textContent = state.busy ? 'Compressing\u2026' : 'Compress to this point';
  }

  /** Announces a sentence to screen readers (the live region). */
  announce(text: string): void {
    this.live.textContent = text;
  }

  private buildEmpty(): void {
    const how = element('div', 'how');
    how.append(
      element('h2', undefined, 'No search results yet'),
      element('p', undefined, 'Run a rank search on a model: right-click an .onnx file and choose "HALOC: Compress Model...", or run that command from the Command Palette. Its Pareto front appears here: latency against accuracy change, with the baselines and the original model.'),
    );
    const run = custom('vscode-button', {}, 'HALOC: Compress Model...');
    run.addEventListener('click', () => this.actions.runSearch());
    how.append(run);
    this.empty.append(element('p', 'waiting', 'Loading\u2026'), how);
  }

  private buildResult(): void {
    this.stale.setAttribute('role', 'status');
    this.stale.textContent = 'The model file changed after this search: its figures describe the model as it was. Run the search again to update them.';
    this.modelPicker.append(element('label', 'control-label', 'Model'), this.modelDropdown);
    this.modelDropdown.addEventListener('change', () => this.modelDropdown.value && this.actions.model(this.modelDropdown.value));
    this.axisGroup.append(custom('label', { slot: 'label' }, 'X axis'), custom('vscode-radio', { value: 'latency' }, 'Latency'), custom('vscode-radio', { value: 'macs' }, 'MACs'));
    this.axisGroup.addEventListener('change', () => isXAxis(this.axisGroup.value) && this.actions.axis(this.axisGroup.value));
    const controls = element('div', 'controls');
    controls.append(this.modelPicker, this.axisGroup);
    this.chartBox.tabIndex = 0;
    this.chartBox.setAttribute('role', 'application');
    this.chartBox.setAttribute('aria-roledescription', 'scatter chart');
    this.chartBox.addEventListener('keydown', (event) => this.actions.key(event));
    this.live.setAttribute('aria-live', 'polite');
    this.live.setAttribute('role', 'status');
    this.compressButton.addEventListener('click', () => this.actions.compress(false));
    this.grid.setAttribute('grid-template-columns', ranksGridTemplate);
    this.details.append(this.detailsTitle, this.figures, this.compressButton, this.summary, this.grid);
    this.result.append(this.stale, controls, this.meta, this.caption, this.chartBox, this.live, this.details);
  }

  private renderModels(models: readonly PanelModel[], current: string): void {
    this.modelPicker.hidden = models.length < 2;
    if (models.length !== this.models.length || models.some((m, i) => m.uri !== this.models[i]?.uri)) {
      // `selected` on the current one: the new options are slotted later, so a value set now would not stick.
      this.modelDropdown.replaceChildren(...models.map((m) => custom('vscode-option', m.uri === current ? { value: m.uri, selected: '' } : { value: m.uri }, m.label)));
      this.models = models;
    }
    if (this.modelDropdown.value !== current) this.modelDropdown.value = current;
  }

  private renderDetails(state: PanelState): void {
    const show = state.show;
    if (!show) return;
    const point = selectedPoint(state);
    this.detailsTitle.textContent = point ? `Selected: ${point.name}${point.fineTuned ? ' (fine-tuned)' : ''}` : 'Original model (select a point)';
    this.figures.replaceChildren(...figureItems(point ? pointFigures(point, show.original, show.labels) : originalFigures(show.original, show.labels)));
    this.summary.textContent = point ? ranksSummary(point) : '';
    this.grid.hidden = !point;
    const kind = point?.layers.find((l) => l.speedup !== null)?.speedupKind;
    this.grid.columnDefinitions = ranksColumns(kind).map((c) => ({ columnDataKey: c.columnDataKey, title: c.title }));
    this.grid.rowsData = point ? ranksRows(point) : [];
  }
}

function figureItems(figures: readonly Figure[]): HTMLElement[] {
  return figures.flatMap((f) => {
    const value = element('dd');
    value.append(element('span', 'value', f.value), element('span', 'source', f.source));
    return [element('dt', undefined, f.label), value];
  });
}
