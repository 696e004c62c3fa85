import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import openapiTS, { astToString, COMMENT_HEADER, OpenAPI3 } from 'openapi-typescript';

/** The contract the types come from, and the file they go to (committed, like openapi.json). */
export const OPENAPI_JSON = join(__dirname, '../../../openapi.json');
export const SCHEMA_FILE = join(__dirname, '../src/schema.ts');

/**
 * The TypeScript types of `openapi.json`, as `src/schema.ts` must hold them. Shared by
 * `npm run client` and by the test that fails when the committed file is stale.
 */
export async function generateSchema(openapiJson = readFileSync(OPENAPI_JSON, 'utf8')): Promise<string> {
  // defaultNonNullable off: a property with a default (a send's `channel`, `length`…) stays optional
  // as `required` says, instead of becoming required in the request bodies.
  const ast = await openapiTS(JSON.parse(openapiJson) as OpenAPI3, { defaultNonNullable: false, silent: true });
  return `${COMMENT_HEADER.replace(' */', ' * Generated from openapi.json: regenerate with `npm run client`.\n */')}${astToString(ast)}`;
}

// `npm run client` writes the file; `--stdout` prints it instead (the staleness test reads that,
// in a process of its own: openapi-typescript needs ES modules that jest's CommonJS runtime cannot load).
if (require.main === module) {
  void generateSchema().then((source) => (process.argv.includes('--stdout') ? process.stdout.write(source) : writeFileSync(SCHEMA_FILE, source)));
}
