"""What every IR kind shares: the neutral program graph (:mod:`irpipe.ir.graph`)."""
