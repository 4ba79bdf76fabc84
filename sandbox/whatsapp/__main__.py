from sandbox.serve import main
from sandbox.whatsapp.app import create_app

if __name__ == "__main__":
    main(create_app, "whatsapp", 5002)
