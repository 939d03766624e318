"""Each test starts from gin's defaults: an in-process `cli.main` run leaves the refinecode gin
bindings behind (e.g. dedup settings), which would change a later test's stage configs."""
import gin
import pytest


@pytest.fixture(autouse=True)
def _fresh_gin_config():
    yield
    gin.clear_config()
