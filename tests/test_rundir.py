"""The run directory is filled into every empty path of a parsed config, and only there."""

from jsonargparse import Namespace

from lightning_paretopo.rundir import fill_run_dir, method_label, run_dir_for


def _config(method: str = "static", weights=None, csv_save_dir: str = ".") -> Namespace:
    return Namespace(
        seed_everything=3,
        model=Namespace(init_args=Namespace(method=Namespace(name=method, weights=weights))),
        trainer=Namespace(
            default_root_dir=None,
            logger=[
                Namespace(
                    class_path="lightning.pytorch.loggers.WandbLogger",
                    init_args=Namespace(save_dir=".", name=None, group=None, project=None),
                ),
                Namespace(
                    class_path="lightning.pytorch.loggers.CSVLogger",
                    init_args=Namespace(save_dir=csv_save_dir, name="lightning_logs"),
                ),
            ],
            callbacks=[
                Namespace(
                    class_path="lightning.pytorch.callbacks.ModelCheckpoint",
                    init_args=Namespace(dirpath=None),
                ),
                Namespace(
                    class_path="lightning_paretopo.callbacks.FrontLogger",
                    init_args=Namespace(dirpath=None),
                ),
            ],
        ),
    )


def test_labels_and_paths() -> None:
    assert method_label("static", [0.8, 0.2]) == "static_0.8_0.2"
    assert method_label("paretopo", [0.5, 0.5]) == "paretopo"
    assert str(run_dir_for("quickstart", "otc", 1)) == "logs/quickstart/otc-s1"


def test_fill_run_dir_fills_every_empty_path() -> None:
    config = _config(weights=[0.2, 0.8])
    run_dir = fill_run_dir(config, "quickstart")
    assert str(run_dir) == "logs/quickstart/static_0.2_0.8-s3"
    wandb, csv = config.trainer.logger
    checkpoint, fronts = config.trainer.callbacks
    assert config.trainer.default_root_dir == str(run_dir)
    assert (
        wandb.init_args.save_dir == str(run_dir)
        and wandb.init_args.group == "quickstart/static_0.2_0.8"
    )
    assert wandb.init_args.name == "quickstart-static_0.2_0.8-s3"
    assert csv.init_args.save_dir == str(run_dir) and csv.init_args.name == "csv"
    assert checkpoint.init_args.dirpath == f"{run_dir}/checkpoints"
    assert fronts.init_args.dirpath == str(run_dir)


def test_explicit_values_win() -> None:
    config = _config(csv_save_dir="elsewhere")
    config.trainer.default_root_dir = "mine"
    fill_run_dir(config, "quickstart")
    assert config.trainer.default_root_dir == "mine"
    assert config.trainer.logger[1].init_args.save_dir == "elsewhere"


def test_non_paretopo_models_are_left_alone() -> None:
    config = _config()
    config.model.init_args = Namespace(lr=0.1)
    assert fill_run_dir(config, "warmstart") is None
    assert config.trainer.default_root_dir is None


def test_a_run_label_replaces_the_method_label() -> None:
    """``--run_name`` (the benchmark's ablations): same method, its own directory and W&B names."""
    config = _config(method="paretopo")
    run_dir = fill_run_dir(config, "fronts-arith", label="paretopo_no_credit")
    assert str(run_dir) == "logs/fronts-arith/paretopo_no_credit-s3"
    wandb = config.trainer.logger[0].init_args
    assert (
        wandb.group == "fronts-arith/paretopo_no_credit"
        and wandb.name == "fronts-arith-paretopo_no_credit-s3"
    )
    assert (
        str(fill_run_dir(_config(method="paretopo"), "quickstart")) == "logs/quickstart/paretopo-s3"
    )
