"""Small chip-market scenarios for the chip and strategy tests (TOML text)."""

CHIPS_TINY = """
[scenario]
name = "chips-tiny"
description = "Two countries, magnets and chips."
start = 2024-01-01
end = 2025-12-31

[[goods]]
name = "magnet"
reference_price_usd_per_kg = { CHN = 50.0, ROW = 60.0 }

[[goods]]
name = "ai_chip"
unit = "unit"
reference_price_usd_per_kg = { CHN = 1.0, ROW = 1.0 }

[[goods]]
name = "chip_ree"
reference_price_usd_per_kg = { CHN = 7.0, ROW = 9.0 }

[[countries]]
code = "CHN"
price_region = "CHN"
strategy = "@CHN@"

[[countries]]
code = "USA"
strategy = "@USA@"

[[exporters]]
name = "maker"
country = "CHN"
good = "magnet"
capacity_t_per_week = 100.0

[[buyers]]
country = "USA"
sector = "automotive"
good = "magnet"
demand_t_per_year = 2600.0
count = 3
sourcing = { CHN = 1.0 }

[chips]
good = "ai_chip"
input_good = "chip_ree"
demand_units_per_week = { CHN = 1000.0, ROW = 2000.0 }
demand_growth_per_year = { CHN = 0.0, ROW = 0.0 }

[[chipmakers]]
name = "designer"
country = "USA"
kind = "designer"
foundry = "foundry"
market_share = { CHN = 0.5, ROW = 1.0 }
price_usd_per_unit = { CHN = 10000.0, ROW = 20000.0 }

[[chipmakers]]
name = "foundry"
country = "USA"
kind = "foundry"
capacity_units_per_week = 3000.0
fee_usd_per_unit = 1000.0
input_dependence = 0.5
input_stock_weeks = 4.0

[[chipmakers]]
name = "domestic"
country = "CHN"
kind = "integrated"
market_share = { CHN = 0.5 }
price_usd_per_unit = { CHN = 8000.0 }
capacity_units_per_week = 550.0
substitution_growth_per_year = 1.0
technology_drag = 0.5
"""


def chips_tiny(chn_strategy: str = "scripted", usa_strategy: str = "scripted",
               extra: str = "") -> str:
    text = CHIPS_TINY.replace("@CHN@", chn_strategy).replace("@USA@", usa_strategy)
    return text + extra
