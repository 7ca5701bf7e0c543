from lightning_paretopo.cli import main

if __name__ == "__main__":
    main()
