// Real REST answers checked against the OpenAPI document the gateway serves
// (src/rest/openapi.ts), by property name and JSON type: enough to catch a drift.
export type Schema = Readonly<Record<string, unknown>>;

export const isSchema = (value: unknown): value is Schema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The schema itself, or the one its `$ref` points to in `document`. */
export function schemaAt(document: Schema, schema: Schema): Schema {
  const target = schema['$ref'];
  if (typeof target !== 'string') return schema;
  const found = target
    .slice(2)
    .split('/')
    .reduce<unknown>((node, part) => (isSchema(node) ? node[part] : undefined), document);
  if (!isSchema(found)) throw new Error(`unresolved ${target}`);
  return found;
}

const jsonType = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;

/**
 * What of `value` the schema does not allow, by property name and JSON type.
 * A property the schema does not list is a mismatch unless
 * `additionalProperties` gives it a schema: clients ignore properties they do
 * not know, so the gateway must send none that its document leaves out.
 */
export function mismatches(document: Schema, schemaOrRef: Schema, value: unknown, path = ''): string[] {
  const schema = schemaAt(document, schemaOrRef);
  const anyOf = schema['anyOf'];
  if (Array.isArray(anyOf)) {
    const fits = anyOf.filter(isSchema).some((option) => mismatches(document, option, value, path).length === 0);
    return fits ? [] : [`${path}: fits no anyOf option`];
  }
  const type = schema['type'];
  const types = Array.isArray(type) ? type : [type];
  const actual = jsonType(value);
  if (type !== undefined && !types.includes(actual) && !(actual === 'integer' && types.includes('number')))
    return [`${path}: ${actual} where the document says ${JSON.stringify(type)}`];
  const allowed = schema['enum'];
  if (Array.isArray(allowed) && !allowed.includes(value)) return [`${path}: ${String(value)} is not in the enum`];
  if (Array.isArray(value)) {
    const items = schema['items'];
    return isSchema(items)
      ? value.flatMap((item, index) => mismatches(document, items, item, `${path}[${index}]`))
      : [];
  }
  if (!isSchema(value)) return [];
  const properties = isSchema(schema['properties']) ? schema['properties'] : {};
  const required = Array.isArray(schema['required']) ? schema['required'] : [];
  const extra = schema['additionalProperties'];
  const problems = required
    .filter((name) => !(String(name) in value))
    .map((name) => `${path}.${String(name)}: missing`);
  for (const [name, member] of Object.entries(value)) {
    const memberSchema = properties[name];
    if (isSchema(memberSchema)) problems.push(...mismatches(document, memberSchema, member, `${path}.${name}`));
    else if (isSchema(extra)) problems.push(...mismatches(document, extra, member, `${path}.${name}`));
    else problems.push(`${path}.${name}: not in the document`);
  }
  return problems;
}

/** The schema the document gives the JSON body of `method pathKey`'s answer with `status`. */
export function answerSchema(document: Schema, pathKey: string, method: string, status: number): Schema {
  const paths = document['paths'];
  const operation = isSchema(paths) && isSchema(paths[pathKey]) ? paths[pathKey][method] : undefined;
  const responses = isSchema(operation) && isSchema(operation['responses']) ? operation['responses'] : {};
  const response = responses[String(status)];
  if (!isSchema(response)) throw new Error(`${method} ${pathKey} does not document ${status}`);
  const content = schemaAt(document, response)['content'];
  const json = isSchema(content) ? content['application/json'] : undefined;
  if (!isSchema(json) || !isSchema(json['schema'])) throw new Error(`${method} ${pathKey} ${status}: no JSON schema`);
  return json['schema'];
}
