// The ECharts scatter of the panel: registers only the parts it uses (scatter, grid, legend,
// tooltip, canvas renderer), renders a state, reports clicks on points and follows the container's size.
// (A point selected from the keyboard gets the selection ring; the details below the chart and the live
// region say its figures, so no tooltip covers the chart.)
import { ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { chartOption, ORIGINAL_NAME, SELECTION_SERIES, type ChartTheme } from './chartOptions';
import type { ShowMessage, XAxis } from './protocol';

echarts.use([ScatterChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

/** The chart in a container element. */
export class ParetoChart {
  private readonly chart: echarts.ECharts;
  private readonly resize: ResizeObserver;
  private last: [ShowMessage, XAxis, string | null, ChartTheme] | undefined;

  constructor(container: HTMLElement, onSelect: (pointId: string) => void) {
    this.chart = echarts.init(container, null, { renderer: 'canvas' });
    this.chart.on('click', (params) => {
      if (params.componentType === 'series' && params.seriesId !== SELECTION_SERIES && params.name !== ORIGINAL_NAME && typeof params.name === 'string') onSelect(params.name);
    });
    this.resize = new ResizeObserver(() => {
      this.chart.resize();
      if (this.last) this.render(...this.last); // the legend may wrap to another number of rows
    });
    this.resize.observe(container);
  }

  /** Draws a result with a selection in a theme (replacing what was drawn). */
  render(show: ShowMessage, axis: XAxis, selectedId: string | null, theme: ChartTheme): void {
    this.last = [show, axis, selectedId, theme];
    this.chart.setOption(chartOption(show, axis, selectedId, theme, this.chart.getWidth()), { notMerge: true });
  }

  dispose(): void {
    this.resize.disconnect();
    this.chart.dispose();
  }
}
