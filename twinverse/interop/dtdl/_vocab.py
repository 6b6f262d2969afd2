"""Term lists of the DTDL language: semantic types and units.

Term *names* (facts of the language) as the DTDL v2 context and the v3 quantitativeTypes
extension context define them (Azure/opendigitaltwins-dtdl, DTDL/v2/context and DTDL/v3/context).
"""

from __future__ import annotations

__all__ = ["SEMANTIC_UNIT_ENUM", "UNIT_ENUMS", "V2_SEMANTIC_TYPES", "V2_UNITS", "V3_SEMANTIC_TYPES", "V3_UNITS"]

#: DTDL v2 semantic types (co-types of Telemetry, Property, Field, …).
V2_SEMANTIC_TYPES: frozenset[str] = frozenset(
    {
        "Acceleration", "Angle", "AngularAcceleration", "AngularVelocity", "Area", "Capacitance", "Current",
        "DataRate", "DataSize", "Density", "Distance", "ElectricCharge", "Energy", "Force", "Frequency",
        "Humidity", "Illuminance", "Inductance", "Latitude", "Length", "Longitude", "Luminance", "Luminosity",
        "LuminousFlux", "LuminousIntensity", "MagneticFlux", "MagneticInduction", "Mass", "MassFlowRate",
        "Power", "Pressure", "RelativeHumidity", "Resistance", "SoundPressure", "Temperature", "Thrust",
        "TimeSpan", "Torque", "Unitless", "Velocity", "Voltage", "Volume", "VolumeFlowRate",
    }
)

#: DTDL v2 units.
V2_UNITS: frozenset[str] = frozenset(
    {
        "acre", "ampere", "astronomicalUnit", "bar", "bel", "bit", "bitPerSecond", "byte", "bytePerSecond",
        "candela", "candelaPerSquareMetre", "centimetre", "centimetrePerSecond", "centimetrePerSecondSquared",
        "coulomb", "cubicCentimetre", "cubicFoot", "cubicInch", "cubicMetre", "day", "decibel",
        "degreeCelsius", "degreeFahrenheit", "degreeOfArc", "degreePerSecond", "electronvolt", "exbibit",
        "exbibitPerSecond", "exbibyte", "exbibytePerSecond", "farad", "fluidOunce", "foot", "footcandle",
        "gForce", "gallon", "gibibit", "gibibitPerSecond", "gibibyte", "gibibytePerSecond", "gigahertz",
        "gigajoule", "gigawatt", "gram", "gramPerCubicMetre", "gramPerHour", "gramPerSecond", "hectare",
        "henry", "hertz", "horsepower", "hour", "inch", "inchesOfMercury", "inchesOfWater", "joule", "kelvin",
        "kibibit", "kibibitPerSecond", "kibibyte", "kibibytePerSecond", "kilogram", "kilogramPerCubicMetre",
        "kilogramPerHour", "kilogramPerSecond", "kilohertz", "kilojoule", "kilometre", "kilometrePerHour",
        "kilometrePerSecond", "kiloohm", "kilopascal", "kilovolt", "kilowatt", "kilowattHour",
        "kilowattHourPerYear", "knot", "litre", "litrePerHour", "litrePerSecond", "lumen", "lux", "maxwell",
        "mebibit", "mebibitPerSecond", "mebibyte", "mebibytePerSecond", "megaelectronvolt", "megahertz",
        "megajoule", "megaohm", "megavolt", "megawatt", "metre", "metrePerHour", "metrePerSecond",
        "metrePerSecondSquared", "microampere", "microfarad", "microgram", "microhenry", "micrometre",
        "microsecond", "microvolt", "microwatt", "mile", "milePerHour", "milePerSecond", "milliampere",
        "millibar", "millifarad", "milligram", "millihenry", "millilitre", "millilitrePerHour",
        "millilitrePerSecond", "millimetre", "millimetresOfMercury", "milliohm", "millisecond", "millivolt",
        "milliwatt", "minute", "minuteOfArc", "nanofarad", "nanometre", "nanosecond", "nauticalMile",
        "newton", "newtonMetre", "ohm", "ounce", "pascal", "percent", "picofarad", "pound",
        "poundPerSquareInch", "radian", "radianPerSecond", "radianPerSecondSquared", "revolutionPerMinute",
        "revolutionPerSecond", "second", "secondOfArc", "slug", "squareCentimetre", "squareFoot",
        "squareInch", "squareKilometre", "squareMetre", "squareMillimetre", "tebibit", "tebibitPerSecond",
        "tebibyte", "tebibytePerSecond", "tesla", "ton", "tonne", "turn", "unity", "volt", "watt", "weber",
        "year", "yobibit", "yobibitPerSecond", "yobibyte", "yobibytePerSecond", "zebibit", "zebibitPerSecond",
        "zebibyte", "zebibytePerSecond",
    }
)

#: Semantic types of dtmi:dtdl:extension:quantitativeTypes;1 (DTDL v3).
V3_SEMANTIC_TYPES: frozenset[str] = frozenset(
    {
        "Acceleration", "Angle", "AngularAcceleration", "AngularVelocity", "ApparentEnergy", "ApparentPower",
        "Area", "Capacitance", "Concentration", "Current", "DataRate", "DataSize", "Density", "Distance",
        "ElectricCharge", "Energy", "EnergyRate", "Force", "Frequency", "Humidity", "Illuminance",
        "Inductance", "IonizingRadiationDose", "Irradiance", "Latitude", "Length", "Longitude", "Luminance",
        "Luminosity", "LuminousFlux", "LuminousIntensity", "MagneticFlux", "MagneticInduction", "Mass",
        "MassFlowRate", "Power", "Pressure", "Radioactivity", "ReactiveEnergy", "ReactivePower",
        "RelativeDensity", "RelativeHumidity", "Resistance", "SoundPressure", "Temperature", "Thrust",
        "TimeSpan", "Torque", "Velocity", "Voltage", "Volume", "VolumeFlowRate",
    }
)

#: Units of dtmi:dtdl:extension:quantitativeTypes;1 (DTDL v3).
V3_UNITS: frozenset[str] = frozenset(
    {
        "acre", "ampere", "ampereHour", "astronomicalUnit", "bar", "becquerel", "bel", "bit", "bitPerSecond",
        "britishThermalUnit", "britishThermalUnitPerHour", "byte", "bytePerSecond", "candela",
        "candelaPerSquareMetre", "centimetre", "centimetrePerSecond", "centimetrePerSecondSquared", "coulomb",
        "cubicCentimetre", "cubicFoot", "cubicFootPerMinute", "cubicInch", "cubicMetre", "cubicMetrePerHour",
        "cubicMetrePerMinute", "cubicMetrePerSecond", "day", "decapascal", "decibel", "degreeCelsius",
        "degreeFahrenheit", "degreeOfArc", "degreePerSecond", "electronvolt", "exbibit", "exbibitPerSecond",
        "exbibyte", "exbibytePerSecond", "farad", "fluidOunce", "foot", "footcandle", "gForce", "gallon",
        "gallonPerHour", "gallonPerMinute", "gauss", "gibibit", "gibibitPerSecond", "gibibyte",
        "gibibytePerSecond", "gigabecquerel", "gigahertz", "gigajoule", "gigajoulePerHour", "gigavoltAmpere",
        "gigavoltAmpereHour", "gigavoltAmpereReactive", "gigavoltAmpereReactiveHour", "gigawatt",
        "gigawattHour", "gram", "gramPerCubicMetre", "gramPerHour", "gramPerSecond", "gray", "hectare",
        "hectopascal", "henry", "hertz", "horsepower", "hour", "inch", "inchesOfMercury", "inchesOfWater",
        "joule", "joulePerHour", "joulePerSecond", "kelvin", "kibibit", "kibibitPerSecond", "kibibyte",
        "kibibytePerSecond", "kiloBritishThermalUnit", "kiloBritishThermalUnitPerHour", "kiloampere",
        "kilobecquerel", "kilogram", "kilogramPerCubicMetre", "kilogramPerHour", "kilogramPerSecond",
        "kilohertz", "kilojoule", "kilojoulePerHour", "kilojoulePerSecond", "kilometre", "kilometrePerHour",
        "kilometrePerSecond", "kiloohm", "kilopascal", "kilovolt", "kilovoltAmpere", "kilovoltAmpereHour",
        "kilovoltAmpereReactive", "kilovoltAmpereReactiveHour", "kilowatt", "kilowattHour",
        "kilowattHourPerYear", "knot", "litre", "litrePerHour", "litrePerMinute", "litrePerSecond", "lumen",
        "lux", "massPound", "massPoundPerHour", "maxwell", "mebibit", "mebibitPerSecond", "mebibyte",
        "mebibytePerSecond", "megabecquerel", "megaelectronvolt", "megahertz", "megajoule",
        "megajoulePerHour", "megaohm", "megavolt", "megavoltAmpere", "megavoltAmpereHour",
        "megavoltAmpereReactive", "megavoltAmpereReactiveHour", "megawatt", "megawattHour", "metre",
        "metrePerHour", "metrePerSecond", "metrePerSecondSquared", "microampere", "microfarad", "microgram",
        "microgramPerCubicMetre", "microgray", "microhenry", "micrometre", "microsecond", "microsievert",
        "microvolt", "microwatt", "mile", "milePerHour", "milePerSecond", "milliampere", "milliampereHour",
        "millibar", "millifarad", "milligram", "milligramPerCubicMetre", "milligray", "millihenry",
        "millihertz", "millilitre", "millilitrePerHour", "millilitrePerMinute", "millilitrePerSecond",
        "millimetre", "millimetresOfMercury", "milliohm", "millisecond", "millisievert", "millivolt",
        "millivoltAmpere", "millivoltAmpereReactive", "milliwatt", "milliwattHour", "minute", "minuteOfArc",
        "nanofarad", "nanometre", "nanosecond", "nauticalMile", "newton", "newtonMetre", "ohm", "ounce",
        "partsPerBillion", "partsPerMillion", "partsPerQuadrillion", "partsPerTrillion", "pascal", "percent",
        "picofarad", "pound", "poundPerSquareInch", "radian", "radianPerSecond", "radianPerSecondSquared",
        "revolutionPerMinute", "revolutionPerSecond", "second", "secondOfArc", "sievert", "slug",
        "squareCentimetre", "squareFoot", "squareInch", "squareKilometre", "squareMetre", "squareMillimetre",
        "tebibit", "tebibitPerSecond", "tebibyte", "tebibytePerSecond", "terawattHour", "tesla", "ton",
        "tonOfRefrigeration", "tonne", "turn", "unity", "volt", "voltAmpere", "voltAmpereHour",
        "voltAmpereReactive", "voltAmpereReactiveHour", "watt", "wattHour", "wattPerSquareMetre", "weber",
        "year", "yobibit", "yobibitPerSecond", "yobibyte", "yobibytePerSecond", "zebibit", "zebibitPerSecond",
        "zebibyte", "zebibytePerSecond",
    }
)

#: Semantic type → the unit enum its ``unit`` must come from (quantitativeTypes v1 metamodel).
SEMANTIC_UNIT_ENUM: dict[str, str] = {
    "Acceleration": "AccelerationUnit",
    "Angle": "AngleUnit",
    "AngularAcceleration": "AngularAccelerationUnit",
    "AngularVelocity": "AngularVelocityUnit",
    "ApparentEnergy": "ApparentEnergyUnit",
    "ApparentPower": "ApparentPowerUnit",
    "Area": "AreaUnit",
    "Capacitance": "CapacitanceUnit",
    "Concentration": "Unitless",
    "Current": "CurrentUnit",
    "DataRate": "DataRateUnit",
    "DataSize": "DataSizeUnit",
    "Density": "DensityUnit",
    "Distance": "LengthUnit",
    "ElectricCharge": "ChargeUnit",
    "Energy": "EnergyUnit",
    "EnergyRate": "PowerUnit",
    "Force": "ForceUnit",
    "Frequency": "FrequencyUnit",
    "Humidity": "DensityUnit",
    "Illuminance": "IlluminanceUnit",
    "Inductance": "InductanceUnit",
    "IonizingRadiationDose": "IonizingRadiationDoseUnit",
    "Irradiance": "IrradianceUnit",
    "Latitude": "AngleUnit",
    "Length": "LengthUnit",
    "Longitude": "AngleUnit",
    "Luminance": "LuminanceUnit",
    "Luminosity": "PowerUnit",
    "LuminousFlux": "LuminousFluxUnit",
    "LuminousIntensity": "LuminousIntensityUnit",
    "MagneticFlux": "MagneticFluxUnit",
    "MagneticInduction": "MagneticInductionUnit",
    "Mass": "MassUnit",
    "MassFlowRate": "MassFlowRateUnit",
    "Power": "PowerUnit",
    "Pressure": "PressureUnit",
    "Radioactivity": "RadioactivityUnit",
    "ReactiveEnergy": "ReactiveEnergyUnit",
    "ReactivePower": "ReactivePowerUnit",
    "RelativeDensity": "Unitless",
    "RelativeHumidity": "Unitless",
    "Resistance": "ResistanceUnit",
    "SoundPressure": "SoundPressureUnit",
    "Temperature": "TemperatureUnit",
    "Thrust": "ForceUnit",
    "TimeSpan": "TimeUnit",
    "Torque": "TorqueUnit",
    "Velocity": "VelocityUnit",
    "Voltage": "VoltageUnit",
    "Volume": "VolumeUnit",
    "VolumeFlowRate": "VolumeFlowRateUnit",
}

#: Unit enum → its units (quantitativeTypes v1 elements).
UNIT_ENUMS: dict[str, frozenset[str]] = {
    "AccelerationUnit": frozenset(
        {
        "centimetrePerSecondSquared", "gForce", "metrePerSecondSquared"
        }
    ),
    "AngleUnit": frozenset(
        {
        "degreeOfArc", "minuteOfArc", "radian", "secondOfArc", "turn"
        }
    ),
    "AngularAccelerationUnit": frozenset(
        {
        "radianPerSecondSquared"
        }
    ),
    "AngularVelocityUnit": frozenset(
        {
        "degreePerSecond", "radianPerSecond", "revolutionPerMinute", "revolutionPerSecond"
        }
    ),
    "ApparentEnergyUnit": frozenset(
        {
        "gigavoltAmpereHour", "kilovoltAmpereHour", "megavoltAmpereHour", "voltAmpereHour"
        }
    ),
    "ApparentPowerUnit": frozenset(
        {
        "gigavoltAmpere", "kilovoltAmpere", "megavoltAmpere", "millivoltAmpere", "voltAmpere"
        }
    ),
    "AreaUnit": frozenset(
        {
        "acre", "hectare", "squareCentimetre", "squareFoot", "squareInch", "squareKilometre",
        "squareMetre", "squareMillimetre"
        }
    ),
    "CapacitanceUnit": frozenset(
        {
        "farad", "microfarad", "millifarad", "nanofarad", "picofarad"
        }
    ),
    "ChargeUnit": frozenset(
        {
        "ampereHour", "coulomb", "milliampereHour"
        }
    ),
    "CurrentUnit": frozenset(
        {
        "ampere", "kiloampere", "microampere", "milliampere"
        }
    ),
    "DataRateUnit": frozenset(
        {
        "bitPerSecond", "bytePerSecond", "exbibitPerSecond", "exbibytePerSecond",
        "gibibitPerSecond", "gibibytePerSecond", "kibibitPerSecond", "kibibytePerSecond",
        "mebibitPerSecond", "mebibytePerSecond", "tebibitPerSecond", "tebibytePerSecond",
        "yobibitPerSecond", "yobibytePerSecond", "zebibitPerSecond", "zebibytePerSecond"
        }
    ),
    "DataSizeUnit": frozenset(
        {
        "bit", "byte", "exbibit", "exbibyte", "gibibit", "gibibyte", "kibibit", "kibibyte",
        "mebibit", "mebibyte", "tebibit", "tebibyte", "yobibit", "yobibyte", "zebibit", "zebibyte"
        }
    ),
    "DensityUnit": frozenset(
        {
        "gramPerCubicMetre", "kilogramPerCubicMetre", "microgramPerCubicMetre",
        "milligramPerCubicMetre"
        }
    ),
    "EnergyUnit": frozenset(
        {
        "britishThermalUnit", "electronvolt", "gigajoule", "gigawattHour", "joule",
        "kiloBritishThermalUnit", "kilojoule", "kilowattHour", "megaelectronvolt", "megajoule",
        "megawattHour", "milliwattHour", "terawattHour", "wattHour"
        }
    ),
    "ForceUnit": frozenset(
        {
        "newton", "ounce", "pound", "ton"
        }
    ),
    "FrequencyUnit": frozenset(
        {
        "gigahertz", "hertz", "kilohertz", "megahertz", "millihertz"
        }
    ),
    "IlluminanceUnit": frozenset(
        {
        "footcandle", "lux"
        }
    ),
    "InductanceUnit": frozenset(
        {
        "henry", "microhenry", "millihenry"
        }
    ),
    "IonizingRadiationDoseUnit": frozenset(
        {
        "gray", "microgray", "microsievert", "milligray", "millisievert", "sievert"
        }
    ),
    "IrradianceUnit": frozenset(
        {
        "wattPerSquareMetre"
        }
    ),
    "LengthUnit": frozenset(
        {
        "astronomicalUnit", "centimetre", "foot", "inch", "kilometre", "metre", "micrometre",
        "mile", "millimetre", "nanometre", "nauticalMile"
        }
    ),
    "LuminanceUnit": frozenset(
        {
        "candelaPerSquareMetre"
        }
    ),
    "LuminousFluxUnit": frozenset(
        {
        "lumen"
        }
    ),
    "LuminousIntensityUnit": frozenset(
        {
        "candela"
        }
    ),
    "MagneticFluxUnit": frozenset(
        {
        "maxwell", "weber"
        }
    ),
    "MagneticInductionUnit": frozenset(
        {
        "gauss", "tesla"
        }
    ),
    "MassFlowRateUnit": frozenset(
        {
        "gramPerHour", "gramPerSecond", "kilogramPerHour", "kilogramPerSecond", "massPoundPerHour"
        }
    ),
    "MassUnit": frozenset(
        {
        "gram", "kilogram", "massPound", "microgram", "milligram", "slug", "tonne"
        }
    ),
    "PowerUnit": frozenset(
        {
        "britishThermalUnitPerHour", "gigajoulePerHour", "gigawatt", "horsepower", "joulePerHour",
        "joulePerSecond", "kiloBritishThermalUnitPerHour", "kilojoulePerHour", "kilojoulePerSecond",
        "kilowatt", "kilowattHourPerYear", "megajoulePerHour", "megawatt", "microwatt", "milliwatt",
        "tonOfRefrigeration", "watt"
        }
    ),
    "PressureUnit": frozenset(
        {
        "bar", "decapascal", "hectopascal", "inchesOfMercury", "inchesOfWater", "kilopascal",
        "millibar", "millimetresOfMercury", "pascal", "poundPerSquareInch"
        }
    ),
    "RadioactivityUnit": frozenset(
        {
        "becquerel", "gigabecquerel", "kilobecquerel", "megabecquerel"
        }
    ),
    "ReactiveEnergyUnit": frozenset(
        {
        "gigavoltAmpereReactiveHour", "kilovoltAmpereReactiveHour", "megavoltAmpereReactiveHour",
        "voltAmpereReactiveHour"
        }
    ),
    "ReactivePowerUnit": frozenset(
        {
        "gigavoltAmpereReactive", "kilovoltAmpereReactive", "megavoltAmpereReactive",
        "millivoltAmpereReactive", "voltAmpereReactive"
        }
    ),
    "ResistanceUnit": frozenset(
        {
        "kiloohm", "megaohm", "milliohm", "ohm"
        }
    ),
    "SoundPressureUnit": frozenset(
        {
        "bel", "decibel"
        }
    ),
    "TemperatureUnit": frozenset(
        {
        "degreeCelsius", "degreeFahrenheit", "kelvin"
        }
    ),
    "TimeUnit": frozenset(
        {
        "day", "hour", "microsecond", "millisecond", "minute", "nanosecond", "second", "year"
        }
    ),
    "TorqueUnit": frozenset(
        {
        "newtonMetre"
        }
    ),
    "VelocityUnit": frozenset(
        {
        "centimetrePerSecond", "kilometrePerHour", "kilometrePerSecond", "knot", "metrePerHour",
        "metrePerSecond", "milePerHour", "milePerSecond"
        }
    ),
    "VoltageUnit": frozenset(
        {
        "kilovolt", "megavolt", "microvolt", "millivolt", "volt"
        }
    ),
    "VolumeFlowRateUnit": frozenset(
        {
        "cubicFootPerMinute", "cubicMetrePerHour", "cubicMetrePerMinute", "cubicMetrePerSecond",
        "gallonPerHour", "gallonPerMinute", "litrePerHour", "litrePerMinute", "litrePerSecond",
        "millilitrePerHour", "millilitrePerMinute", "millilitrePerSecond"
        }
    ),
    "VolumeUnit": frozenset(
        {
        "cubicCentimetre", "cubicFoot", "cubicInch", "cubicMetre", "fluidOunce", "gallon", "litre",
        "millilitre"
        }
    ),
}
