// Validates HAR files against the HAR 1.2 JSON Schema (har-validator, har-schema).
const fs = require('fs');
const validate = require('har-validator');
let failed = 0;
(async () => {
  for (const f of process.argv.slice(2)) {
    try {
      await validate.har(JSON.parse(fs.readFileSync(f, 'utf8')));
      console.log('valid ' + f);
    } catch (e) {
      failed++;
      console.log('INVALID ' + f + ': ' + JSON.stringify(e.errors || e.message));
    }
  }
  process.exit(failed ? 1 : 0);
})();
