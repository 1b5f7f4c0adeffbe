from kesu.cli import app

app()
