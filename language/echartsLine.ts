// ECharts' core with only what the layer chart uses (line series, grid, legend, mark lines, the SVG
// renderer), imported by name so that the bundle keeps only these parts. Loaded on first use.
import { LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, MarkLineComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';

echarts.use([LineChart, GridComponent, LegendComponent, MarkLineComponent, SVGRenderer]);

/** ECharts with the line chart registered. */
export const lineEcharts = echarts;
