// A bare page with the whole library on its own thread, as window.samUnetLib: the browser tests of
// its main-thread helpers (fetchWeights and the Cache API) run here. Built by chromium.test.ts
// (the demo keeps the library in its worker).
import * as lib from 'sam-unet-webgpu';

(window as unknown as { samUnetLib: typeof lib }).samUnetLib = lib;
