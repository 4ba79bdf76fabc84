from sandbox.serve import main
from sandbox.yclients.app import create_app

if __name__ == "__main__":
    main(create_app, "yclients", 5003)
