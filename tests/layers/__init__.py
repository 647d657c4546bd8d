"""Tests of the layer modules (caffelite/layers/), one file per module; a
package, so that their basenames may repeat those of tests/kernels/."""
