"""OCR-GAN Video: its hyper-parameters (`hparams`), the torch model (`torch_model`, with `generator`
and `discriminator`), the score's normal reference (`reference`, `playback`), the LightningModule
(`lightning_model`, with `health`) and what a checkpoint carries (`checkpoint`)."""
