// The JSON schema of plan files (`<model>.ranks.json`). The build writes it to dist/ranks.schema.json,
// which the extension contributes to VS Code's JSON validation; the engine validates with it (ajv).

/** JSON schema (draft-07) of a rank plan. */
export const rankPlanSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'haloc:ranks.schema.json',
  title: 'HALOC rank plan',
  description: 'Per-layer ranks for the low-rank rewrite of an ONNX model (<model>.ranks.json).',
  type: 'object',
  required: ['ranks'],
  properties: {
    $schema: { type: 'string' },
    model: { type: 'string', description: 'The model file this plan was made for, relative to the plan file.' },
    source: {
      type: 'object',
      description: 'Where the plan came from.',
      required: ['kind'],
      properties: {
        kind: { type: 'string', enum: ['manual', 'uniform', 'energy', 'haloc', 'fast', 'flops-haloc'], description: 'The method that produced the ranks.' },
        description: { type: 'string', description: 'Settings of that method, in words.' },
        createdAt: { type: 'string', description: 'ISO 8601 time of creation.' },
        tool: { type: 'string', description: 'Tool and version that wrote the plan.' },
      },
    },
    ranks: {
      type: 'object',
      description: 'Layer name -> rank (a positive integer: the equal Tucker-2 rank of a conv, the SVD rank of a Gemm/MatMul/1x1 conv) or "keep".',
      additionalProperties: {
        oneOf: [
          { type: 'integer', minimum: 1, description: 'The rank of the factorized layer.' },
          { const: 'keep', description: 'Leave the layer as it is.' },
        ],
      },
    },
  },
} as const;
