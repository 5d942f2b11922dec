"""Classical denoisers: :mod:`.filtering` (FIR/IIR filters, notch, smoothing), :mod:`.adaptive`
(LMS/NLMS/RLS/FDAF noise cancelling, adaptive line enhancer), :mod:`.spectral` (spectral subtraction,
Wiener, MMSE-STSA, log-MMSE, OM-LSA, spectral gating), :mod:`.block_thresholding` (Yu, Mallat & Bacry
2008) and :mod:`.noise_estimation`.

Importing this package imports none of them: each method is found through
:mod:`audiorestore.catalog` and its module imported on first use.
"""
