// A local Serverless plugin: stages the verified model files into the folder every function zip includes
// (custom.facepipe.modelsDir) before serverless-esbuild packs the functions, and stops the packaging with a clear
// message when a model is missing. The staging itself is scripts/lambdaModels.ts, bundled here on the fly with
// esbuild so packaging never runs a stale build from dist/. List this plugin before serverless-esbuild.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** The function environment that chooses models; FACEPIPE_MODEL_CACHE is not among them (it is the Lambda path). */
const MODEL_CHOICE = /^FACEPIPE_(DETECTOR|EMBEDDER|EMOTION_MODEL|AGE_GENDER_MODEL|VERIFY)$/;

class LambdaModelsPlugin {
  constructor(serverless) {
    this.serverless = serverless;
    const stage = () => this.stage();
    this.hooks = {
      'before:package:createDeploymentArtifacts': stage,
      'before:deploy:function:packageFunction': stage,
    };
  }

  stage() {
    const { service, serviceDir } = this.serverless;
    const out = path.resolve(serviceDir, service.custom?.facepipe?.modelsDir ?? 'lambda-models');
    const env = { ...process.env };
    for (const [name, value] of Object.entries(service.provider.environment ?? {})) {
      if (MODEL_CHOICE.test(name) && typeof value === 'string') env[name] = value;
    }
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'facepipe-lambda-models-'));
    try {
      const script = path.join(tmp, 'lambdaModels.js');
      require('esbuild').buildSync({
        entryPoints: [path.join(serviceDir, 'scripts', 'lambdaModels.ts')],
        outfile: script,
        bundle: true,
        platform: 'node',
        target: 'node20',
        logLevel: 'error',
      });
      const run = spawnSync(process.execPath, [script, '--out', out], { env, encoding: 'utf8' });
      if (run.stdout) process.stdout.write(run.stdout);
      if (run.status !== 0) {
        throw new this.serverless.classes.Error(
          (run.stderr || run.error?.message || `model staging exited with ${run.status}`).trim(),
        );
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
}

module.exports = LambdaModelsPlugin;
