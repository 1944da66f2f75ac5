// The walkthrough's run steps, ticked by completed runs: Phase 1, Phase 2, and "edit and rerun"
// (a Phase 2 run that reloaded an edit, or followed a save of ttnn_pipeline.py).
import type * as vscode from 'vscode';
import type { WalkthroughProgress } from '../walkthrough';
import { creativeOf, usedDirectedControls, type CompletedRun } from './runController';

export class RunTicks {
  private ttnnPipelineSaved = false;

  constructor(private readonly walkthrough: WalkthroughProgress) {}

  follow(runs: vscode.Event<CompletedRun>): vscode.Disposable {
    return runs((run) => void this.tick(run));
  }

  /** The user saved ttnn_pipeline.py: the next completed Phase 2 run ticks "edit and rerun". */
  noteTtnnPipelineSaved(): void {
    this.ttnnPipelineSaved = true;
  }

  private async tick({ request, result }: CompletedRun): Promise<void> {
    if (request.phase === 1) {
      await this.walkthrough.markDone('phase1Done');
      // lesson 10: a run that used context windows, a prompt schedule, motion LoRAs or a motion scale
      if (usedDirectedControls(creativeOf(result.metadataPath))) await this.walkthrough.markDone('longerDirectedDone');
      return;
    }
    if (request.phase === 3) {
      await this.walkthrough.markDone('phase3Done');
      return;
    }
    await this.walkthrough.markDone('phase2Done');
    if (result.reloadedModules.length > 0 || this.ttnnPipelineSaved) await this.walkthrough.markDone('editRerunDone');
    this.ttnnPipelineSaved = false;
  }
}
