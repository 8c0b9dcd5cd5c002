// Which ONNX layers a PyTorch module attribute may be. The heuristic, simple and stated in every hint:
// PyTorch's exporter names nodes after module paths, either as scopes (`/layer1/layer1.0/conv1/Conv`)
// or, in older exports and in converted models such as the bundled ResNet-20, as the dotted path
// itself (`layer1.0.conv1`). Both give the module path `layer1.0.conv1`; an attribute `conv1`
// matches every layer whose module path ends in the segment `conv1`. The class the attribute is
// defined in is not used (which module path an instance of it gets depends on the code that builds
// the model), so an attribute of a block used several times matches several layers: the hint then
// lists them instead of guessing one. Layers without a module path (`Gemm#53`, `onnx::Conv_12`) and
// modules inside nn.Sequential (path segments that are indices) never match an attribute.

/** The module path of an ONNX layer name, or undefined when the name does not look like one. */
export function modulePathOf(layerName: string): string | undefined {
  if (layerName.startsWith('/')) {
    const segments = layerName.slice(1).split('/').filter((s) => s.length > 0);
    segments.pop();
    let modulePath = '';
    for (const segment of segments) modulePath = modulePath && segment.startsWith(`${modulePath}.`) ? segment : modulePath ? `${modulePath}.${segment}` : segment;
    return isModulePath(modulePath) ? modulePath : undefined;
  }
  return isModulePath(layerName) ? layerName : undefined;
}

/** The layers (of `layerNames`) whose module path ends in the segment `attribute`. */
export function layersOfAttribute(attribute: string, layerNames: Iterable<string>): string[] {
  const matches: string[] = [];
  for (const name of layerNames) {
    const modulePath = modulePathOf(name);
    if (modulePath !== undefined && modulePath.split('.').pop() === attribute) matches.push(name);
  }
  return matches;
}

function isModulePath(text: string): boolean {
  return /^[A-Za-z_]\w*(\.\w+)*$/.test(text);
}
