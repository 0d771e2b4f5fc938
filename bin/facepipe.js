#!/usr/bin/env node

const path = require('node:path');
const fs = require('node:fs');

// The AWS SDK only talks to the embedded results table here; its Node-version notice is noise for CLI users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const entry = path.join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('facepipe is not built yet: run "npm run setup" (or "npm run build") in the project folder.\n');
  process.exit(2);
}
require(entry).main(process.argv);
