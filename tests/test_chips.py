"""The chip database: data files, schema errors, lookup, fit ranking and the `chips` command."""

from __future__ import annotations

import json
import shutil
import tomllib

import pytest

from conftest import ELF_FIXTURES, run_gomcu
from gomcu.chips import DATA_DIR, MemoryRegion, find_chip, load_chips, rank_fits
from gomcu.chips.fit import isa_runs_on, parse_riscv
from gomcu.errors import ChipError

KiB = 1024
MiB = 1024 * 1024

#: Every chip the project's brief names, by the name a user would type.
SEED_CHIPS = [
    "STM32F407", "STM32F405", "STM32H743", "STM32L4R5", "ESP32", "ESP32-S2", "ESP32-S3",
    "ESP32-C3", "ESP32-C6", "SAMD21G18", "RP2040", "nRF52840", "GD32VF103", "FE310-G002",
    "ATmega328P", "SAMD51J19", "SAMD51P19", "nRF52832", "nRF52833", "nRF51822", "STM32F103C8",
    "STM32F401", "STM32F411", "STM32G0B1", "RP2350", "ATmega2560", "MIMXRT1062", "MK66FX1M0",
    "K210", "CH32V003", "LM3S6965", "MPS2-AN385", "MPS2-AN386",
]


# -- data files ------------------------------------------------------------------------------

def test_every_data_file_parses_and_validates():
    files = sorted(DATA_DIR.glob("*.toml"))
    assert files
    for path in files:
        with path.open("rb") as fh:
            assert tomllib.load(fh)["chip"], path.name
    chips = load_chips()
    assert {c.source_file for c in chips} == {p.name for p in files}


def test_at_least_forty_chips_with_unique_names():
    chips = load_chips()
    assert len(chips) >= 40
    assert len({c.name.lower() for c in chips}) == len(chips)


@pytest.mark.parametrize("name", SEED_CHIPS)
def test_seed_chip_present(name):
    chip = find_chip(name)
    assert chip.name == name
    assert chip.datasheet and chip.tinygo_note
    assert chip.main_flash in chip.regions and chip.main_ram in chip.regions


def test_every_chip_is_consistent():
    for chip in load_chips():
        assert (chip.nvic_priority_bits is None) == (chip.arch != "arm"), chip.name
        assert chip.ram_bytes > 0, chip.name
        if chip.tinygo_support != "unsupported":
            assert chip.tinygo_targets, chip.name
        for a in chip.regions:
            for b in chip.regions:
                assert a is b or not a.intersects(b), (chip.name, a.name, b.name)


# -- facts from the cited datasheets ---------------------------------------------------------

def test_stm32f407_memory_map_ds8626():
    chip = find_chip("stm32f407")
    assert "DS8626" in chip.datasheet
    assert chip.region("FLASH") == MemoryRegion("FLASH", "flash", 0x08000000, 1 * MiB)
    assert (chip.main_ram.origin, chip.main_ram.length) == (0x20000000, 128 * KiB)
    ccm = chip.region("CCM")
    assert (ccm.kind, ccm.origin, ccm.length) == ("ccm", 0x10000000, 64 * KiB)
    assert chip.ram_bytes == 128 * KiB and chip.extra_ram_bytes == 64 * KiB
    assert (chip.core, chip.fpu, chip.clock_hz, chip.nvic_priority_bits) == (
        "cortex-m4f", "sp", 168_000_000, 4)


def test_rp2040_datasheet_facts():
    chip = find_chip("pico")
    assert chip.name == "RP2040"
    assert chip.ram_bytes == 264 * KiB  # 4 x 64 KiB striped + 2 x 4 KiB
    assert chip.main_flash.origin == 0x10000000  # XIP window
    assert (chip.core, chip.nvic_priority_bits, chip.clock_hz) == ("cortex-m0plus", 2, 133_000_000)
    assert chip.tinygo_support == "supported" and "pico" in chip.tinygo_targets


def test_rp2040_boot_layout():
    chip = find_chip("rp2040")
    stage2 = chip.boot.stage2
    assert stage2 is not None and (stage2.origin, stage2.length) == (0x10000000, 0x100)
    assert stage2.runs_at == 0x20041F00 and chip.vector_table == 0x10000100
    assert "2.8 Bootrom" in chip.boot.source
    assert chip.to_dict()["boot"]["stage2"]["origin"] == 0x10000000
    # a chip without a boot table boots from the start of its main flash
    stm = find_chip("stm32f407vg")
    assert stm.boot.stage2 is None and stm.vector_table == 0x08000000


def test_board_bootloaders_are_per_board():
    chip = find_chip("nrf52840")
    assert [b.name for b in chip.bootloaders_of(0x26000)] == [
        "SoftDevice S140 v6 + Adafruit UF2 bootloader"]
    assert "feather-nrf52840" in chip.bootloaders_of(0x26000)[0].boards
    assert chip.bootloaders_of(0x12345) == ()
    assert chip.vector_table == 0  # the bootloader is the board's: a bare chip boots from 0
    assert find_chip("feather-m4").bootloaders_of(0x4000)


BAD_BOOT = [
    ("vector_table = 0x10000100", "vector_table = 0x10000080",
     r"boot.vector_table: .* inside boot.stage2"),
    ('origin = 0x10000000, length = 0x100,', 'origin = 0x20000000, length = 0x100,',
     r"boot.stage2: .* not inside one flash"),
    ('source = "RP2040 Datasheet, 2.8 Bootrom"', 'source = ""', r"boot.source: expected a non"),
]


@pytest.mark.parametrize("old,new,match", BAD_BOOT, ids=["vectors", "stage2", "source"])
def test_bad_boot_table_is_rejected(tmp_path, old, new, match):
    path = _copy_data(tmp_path) / "raspberrypi-rp.toml"
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    with pytest.raises(ChipError, match=r"chip 'RP2040': " + match):
        load_chips(directory=path.parent)


def test_atmega328p_datasheet_facts():
    chip = find_chip("arduino-uno")
    assert chip.name == "ATmega328P"
    assert (chip.flash_bytes, chip.ram_bytes) == (32 * KiB, 2 * KiB)
    assert chip.regions_of("eeprom")[0].length == 1 * KiB
    assert chip.nvic_priority_bits is None and chip.arch == "avr"
    assert chip.tinygo_support == "supported" and "scheduler none" in chip.tinygo_note


def test_k210_is_rv64_and_gd32vf103_unsupported():
    k210 = find_chip("k210")
    assert (k210.core, k210.arch, k210.fpu) == ("rv64gc", "riscv64", "dp")
    assert k210.code_in_ram and k210.ram_bytes == 8 * MiB
    gd = find_chip("longan-nano")
    assert gd.name == "GD32VF103" and gd.tinygo_support == "unsupported"
    assert gd.tinygo_targets == ()


def test_lm3s6965_matches_tinygo_cortex_m_qemu():
    chip = find_chip("lm3s6965evb")
    assert "cortex-m-qemu" in chip.tinygo_targets
    assert chip.main_flash == MemoryRegion("FLASH", "flash", 0, 256 * KiB)
    assert (chip.main_ram.origin, chip.main_ram.length) == (0x20000000, 64 * KiB)
    assert (chip.core, chip.nvic_priority_bits) == ("cortex-m3", 3)


def test_mps2_images_have_no_tinygo_target():
    for name, core in (("mps2-an385", "cortex-m3"), ("mps2-an386", "cortex-m4f")):
        chip = find_chip(name)
        assert chip.core == core and chip.tinygo_support == "unsupported"
        assert chip.flash_bytes == 0 and chip.code_in_ram


def test_nvic_bits_spot_checks():
    assert find_chip("nrf52840").nvic_priority_bits == 3
    assert find_chip("samd21g18").nvic_priority_bits == 2
    assert find_chip("stm32h743").nvic_priority_bits == 4


# -- regions ---------------------------------------------------------------------------------

def test_memory_region_geometry():
    a = MemoryRegion("A", "sram", 0x20000000, 0x1000)
    assert a.end == 0x20001000
    assert a.contains(0x20000000) and a.contains(0x20000FFF) and not a.contains(0x20001000)
    assert a.intersects(MemoryRegion("B", "sram", 0x20000FFF, 4))
    assert not a.intersects(MemoryRegion("C", "sram", 0x20001000, 4))
    chip = find_chip("stm32h743")
    assert chip.region_at(0x24000010).name == "AXI_SRAM"
    assert chip.region_at(0x40000000) is None


# -- lookup ----------------------------------------------------------------------------------

@pytest.mark.parametrize("alias, name", [
    ("wioterminal", "SAMD51P19"), ("feather-m4", "SAMD51J19"), ("microbit-v2", "nRF52833"),
    ("bluepill", "STM32F103C8"), ("nucleo-f446", "STM32F446"), ("PICO", "RP2040"),
    ("Esp32c3", "ESP32-C3"), ("teensy40", "MIMXRT1062"),
])
def test_find_chip_by_alias_case_insensitive(alias, name):
    assert find_chip(alias).name == name


def test_find_chip_did_you_mean():
    with pytest.raises(ChipError) as info:
        find_chip("stm32f470")
    message = str(info.value)
    assert message.startswith("unknown chip 'stm32f470'; did you mean: ")
    assert "stm32f407" in message


def test_find_chip_unknown_without_suggestion():
    with pytest.raises(ChipError, match=r"^unknown chip 'zzzzzzzzzzzz'$"):
        find_chip("zzzzzzzzzzzz")


# -- schema errors ---------------------------------------------------------------------------

def _copy_data(tmp_path):
    for path in DATA_DIR.glob("*.toml"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def test_loading_a_copy_of_the_database_gives_the_same_chips(tmp_path):
    assert load_chips(directory=_copy_data(tmp_path)) == load_chips()


def test_bad_region_kind_names_file_chip_and_key(tmp_path):
    d = _copy_data(tmp_path)
    path = d / "nordic-nrf.toml"
    path.write_text(path.read_text().replace('kind = "sram", origin = 0x20000000, length = 0x40000',
                                             'kind = "sdram", origin = 0x20000000, length = 0x40000'))
    with pytest.raises(ChipError) as info:
        load_chips(directory=d)
    message = str(info.value)
    assert "nordic-nrf.toml" in message and "'nRF52840'" in message
    assert "regions[1].kind" in message and "sdram" in message


def test_missing_key_and_unknown_key(tmp_path):
    (tmp_path / "x.toml").write_text(
        '[[chip]]\nname = "X1"\npart = "X1"\naliases = []\nvendor = "V"\ncore = "cortex-m3"\n'
        'arch = "arm"\nfpu = "none"\nmpu = false\nnvic_priority_bits = 3\ndatasheet = "D"\n'
        'tinygo = { targets = [], support = "unsupported", note = "n" }\n'
        'regions = [{ name = "F", kind = "flash", origin = 0, length = 1024 },'
        ' { name = "R", kind = "sram", origin = 0x20000000, length = 1024 }]\n')
    with pytest.raises(ChipError, match=r"x\.toml: chip 'X1': clock_hz: missing required key"):
        load_chips(directory=tmp_path)
    (tmp_path / "x.toml").write_text((tmp_path / "x.toml").read_text()
                                     + "clock_hz = 1\nclock_mhz = 1\n")
    with pytest.raises(ChipError, match=r"x\.toml: chip 'X1': clock_mhz: unknown key"):
        load_chips(directory=tmp_path)


def test_toml_syntax_error_names_the_file(tmp_path):
    (tmp_path / "broken.toml").write_text('[[chip]]\nname = "unterminated\n')
    with pytest.raises(ChipError, match=r"^broken\.toml: TOML syntax error"):
        load_chips(directory=tmp_path)


def test_core_arch_mismatch_and_overlap_are_rejected(tmp_path):
    d = _copy_data(tmp_path)
    path = d / "raspberrypi-rp.toml"
    text = path.read_text()
    path.write_text(text.replace('core = "cortex-m0plus"\narch = "arm"',
                                 'core = "cortex-m0plus"\narch = "riscv32"'))
    with pytest.raises(ChipError, match=r"raspberrypi-rp\.toml: chip 'RP2040': arch: core "):
        load_chips(directory=d)
    path.write_text(text.replace("origin = 0x20040000, length = 0x1000",
                                 "origin = 0x2003F000, length = 0x1000"))
    with pytest.raises(ChipError, match=r"chip 'RP2040': regions\[3\]: SRAM4 .* overlaps"):
        load_chips(directory=d)


def test_duplicate_alias_across_files(tmp_path):
    d = _copy_data(tmp_path)
    path = d / "raspberrypi-rp.toml"
    path.write_text(path.read_text().replace('"rp2350a", "pico2"', '"rp2350a", "pico"'))
    with pytest.raises(ChipError, match=r"'pico' is already used by chip"):
        load_chips(directory=d)


# -- instruction sets and fits ---------------------------------------------------------------

def test_v7em_hard_float_binary_does_not_fit_cortex_m0plus():
    names = {f.chip.name for f in rank_fits("arm", "ARMv7E-M", 10 * KiB, 2 * KiB,
                                            hard_float=True)}
    assert "STM32F407" in names and "nRF52840" in names and "STM32L552" in names
    assert "RP2040" not in names and "SAMD21G18" not in names
    assert "STM32F103C8" not in names  # v7-M only
    assert "STM32WLE5" not in names  # Cortex-M4 without FPU


def test_tiny_armv6m_binary_fits_every_arm_chip():
    fits = rank_fits("arm", "ARMv6-M", 1 * KiB, 512)
    arm = [c for c in load_chips() if c.arch == "arm"]
    assert {f.chip for f in fits} == set(arm)
    assert all(f.fits for f in fits)
    assert len(fits) >= 30


def test_rank_order_is_tightest_fit_first_then_closest_misfit():
    fits = rank_fits("arm", "ARMv6-M", 30 * KiB, 6 * KiB)
    ok = [f for f in fits if f.fits]
    bad = [f for f in fits if not f.fits]
    assert fits == ok + bad
    assert ok[0].chip.name == "STM32L031"  # 32 KiB flash, 8 KiB RAM: the smallest that fits
    assert [f.ram_headroom for f in ok] == sorted(f.ram_headroom for f in ok)
    assert {f.chip.name for f in bad} >= {"SAMD11C14"}
    l031 = ok[0]
    assert (l031.flash_headroom, l031.ram_headroom) == (2 * KiB, 2 * KiB)


def test_too_big_for_everything():
    fits = rank_fits("arm", "ARMv7-M", 64 * MiB, 1 * KiB)
    assert fits and not any(f.fits for f in fits)


def test_riscv_extensions():
    assert parse_riscv("RV32IMAC") == (32, "i", frozenset("mac"))
    assert parse_riscv("RV32GC") == (32, "i", frozenset("mafdc"))
    assert parse_riscv("rv32imac_zicsr_zifencei") == (32, "i", frozenset("mac"))
    imac = {f.chip.name for f in rank_fits("riscv32", "RV32IMAC", 1 * KiB, 1 * KiB)}
    assert {"FE310-G002", "GD32VF103", "ESP32-C6"} <= imac
    assert "ESP32-C3" not in imac  # rv32imc: no atomics
    assert "K210" not in imac  # RV64 does not run RV32 code
    imc = {f.chip.name for f in rank_fits("riscv32", "RV32IMC", 1 * KiB, 1 * KiB)}
    assert "ESP32-C3" in imc and "CH32V003" not in imc
    ec = {f.chip.name for f in rank_fits("riscv32", "RV32EC", 1 * KiB, 1 * KiB)}
    assert "CH32V003" in ec and "ESP32-C3" in ec  # RV32E code runs on an RV32I core


def test_code_in_ram_chips_share_ram_between_code_and_data():
    an385 = find_chip("mps2-an385")
    fit = rank_fits("arm", "ARMv7-M", 3 * MiB, 6 * MiB, chips=[an385])[0]
    assert not fit.fits and fit.ram_headroom == 8 * MiB - 9 * MiB


def test_unknown_core_string_is_a_chip_error():
    with pytest.raises(ChipError, match="unknown Arm core string"):
        isa_runs_on("arm", "ARMv9-M", find_chip("rp2040"))


# -- CLI -------------------------------------------------------------------------------------

def test_cli_lists_filtered_table():
    result = run_gomcu("chips", "stm32f4")
    assert result.returncode == 0, result.stderr
    for name in ("STM32F405", "STM32F407", "STM32F411", "STM32F469"):
        assert name in result.stdout
    assert "RP2040" not in result.stdout


def test_cli_json():
    result = run_gomcu("chips", "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == 2
    assert len(doc["chips"]) == len(load_chips())
    f407 = next(c for c in doc["chips"] if c["name"] == "STM32F407")
    assert f407["flash_bytes"] == 1 * MiB and f407["tinygo"]["support"] == "supported"
    assert f407["regions"][0] == {"name": "FLASH", "kind": "flash", "origin": 0x08000000,
                                  "length": 1 * MiB}


def test_cli_filter_by_alias_and_core():
    assert "SAMD51P19" in run_gomcu("chips", "wioterminal").stdout
    doc = json.loads(run_gomcu("chips", "rv64", "--format", "json").stdout)
    assert [c["name"] for c in doc["chips"]] == ["K210"]


def test_cli_unknown_filter_exits_2_with_one_line():
    result = run_gomcu("chips", "stm32f4077")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "no chip matches 'stm32f4077'; did you mean:" in lines[0]
    assert "stm32f407" in lines[0]


def test_cli_fits_missing_file_exits_2():
    result = run_gomcu("chips", "--fits", "/no/such/firmware.elf")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_cli_fits_real_elf():
    elf = ELF_FIXTURES / "mini-m4f.elf"
    if not elf.exists():
        pytest.skip("fixture ELF not built")
    result = run_gomcu("chips", "--fits", str(elf), "--format", "json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["core"] == "ARMv7E-M" and doc["hard_float"] is True
    names = {f["chip"] for f in doc["fits"]}
    assert "STM32F407" in names and "RP2040" not in names and "STM32WLE5" not in names
