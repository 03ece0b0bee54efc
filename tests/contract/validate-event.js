// Validates dpc-notify JSON events against docs/dpc-notify-event.schema.json
// with Ajv (draft 2020-12, formats on, strict schema checks), the validator
// Prism already brings into tests/contract/node_modules.
// Usage: node validate-event.js SCHEMA FILE...  ("-" reads one event from
// stdin). Prints "ok FILE" or "invalid FILE: errors" per file; exits 1 when
// any file is invalid or the schema itself does not compile.
"use strict";
const fs = require("fs");
const Ajv2020 = require("ajv/dist/2020");
const addFormats = require("ajv-formats");

const [schemaPath, ...files] = process.argv.slice(2);
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(fs.readFileSync(schemaPath, "utf8")));
let bad = 0;
for (const f of files) {
  const text = fs.readFileSync(f === "-" ? 0 : f, "utf8");
  if (validate(JSON.parse(text))) {
    console.log("ok " + f);
  } else {
    bad++;
    console.log("invalid " + f + ": " + JSON.stringify(validate.errors));
  }
}
process.exit(bad ? 1 : 0);
