// The merchant's script bundle: the Sentry browser SDK (npm @sentry/browser 11.12.0, with Session
// Replay from @sentry/replay 11.12.0), bundled by esbuild into one IIFE script that exposes the SDK
// as `window.Sentry`, the way a site's build ships it. The page calls Sentry.init itself.
import * as Sentry from '@sentry/browser';

window.Sentry = Sentry;
