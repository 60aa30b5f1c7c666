import { isAppError } from '@shop/service-kit';
import type { Catalog } from './catalog';
import { findCategoryBySlug } from './categories';
import { ProductEntity } from '../database';

interface DemoCategory {
  slug: string;
  name: string;
  description: string;
  /** sku, name, price in cents, stock, tags, description */
  products: [string, string, number, number, string[], string][];
}

/** A small shop's worth of products: enough to page, filter and search through in a demo. */
export const DEMO_CATALOG: DemoCategory[] = [
  {
    slug: 'kitchen',
    name: 'Kitchen',
    description: 'Cookware, knives and everything for the morning coffee.',
    products: [
      ['KIT-KETTLE-CU', 'Copper kettle', 5_999, 12, ['copper', 'tea', 'stovetop'], 'A 1.5 litre stovetop kettle in hammered copper with a brass whistle.'],
      ['KIT-KNIFE-CHEF', "Chef's knife 20 cm", 8_900, 25, ['steel', 'knives'], 'Forged high-carbon stainless steel, full tang, walnut handle.'],
      ['KIT-PAN-CI-26', 'Cast iron skillet 26 cm', 4_500, 18, ['cast iron', 'pans'], 'Pre-seasoned skillet that goes from hob to oven to table.'],
      ['KIT-PRESS-FR', 'French press 1 l', 3_200, 30, ['coffee', 'glass'], 'Borosilicate glass carafe with a double steel mesh filter.'],
      ['KIT-GRINDER-BURR', 'Burr coffee grinder', 12_900, 7, ['coffee', 'electric'], 'Conical steel burrs with 40 grind settings, from espresso to cold brew.'],
      ['KIT-BOARD-OAK', 'Oak cutting board', 3_900, 22, ['wood', 'oak'], 'End-grain oak board with a juice groove, oiled by hand.'],
      ['KIT-POT-DUTCH', 'Enamelled Dutch oven 4.5 l', 15_900, 5, ['cast iron', 'enamel', 'pots'], 'Holds heat for slow braises; enamel inside and out, no seasoning needed.'],
      ['KIT-SCALE-DIG', 'Digital kitchen scale', 2_499, 40, ['baking', 'electric'], 'Weighs to the gram up to 5 kg, with a tare button and a timer.'],
      ['KIT-TEAPOT-CER', 'Ceramic teapot', 3_400, 0, ['tea', 'ceramic'], 'Hand-glazed stoneware teapot with a removable infuser. Back soon.'],
      ['KIT-SPOON-SET', 'Olive wood spoon set', 1_900, 35, ['wood', 'utensils'], 'Three spoons carved from one olive branch each; no two alike.'],
    ],
  },
  {
    slug: 'lighting',
    name: 'Lighting',
    description: 'Lamps and bulbs for reading, working and winding down.',
    products: [
      ['LGT-LAMP-WALNUT', 'Walnut desk lamp', 7_900, 9, ['wood', 'walnut', 'desk'], 'A warm reading light on a solid walnut base with a linen shade.'],
      ['LGT-BULB-EDISON', 'Edison filament bulb', 799, 120, ['bulbs', 'vintage'], 'Dimmable LED filament bulb, 2200 K, E27 fitting.'],
      ['LGT-FLOOR-ARC', 'Arc floor lamp', 18_900, 3, ['floor', 'brass'], 'Brass arc over a marble foot, reaching two metres across a sofa.'],
      ['LGT-PENDANT-RATTAN', 'Rattan pendant', 6_400, 11, ['rattan', 'ceiling'], 'Hand-woven rattan shade that casts a soft patterned light.'],
      ['LGT-LANTERN-SOLAR', 'Solar garden lantern', 2_900, 48, ['outdoor', 'solar'], 'Charges by day, glows for eight hours at night; no wiring.'],
      ['LGT-STRIP-LED', 'LED light strip 5 m', 2_299, 0, ['led', 'smart'], 'App-controlled colour strip with a music mode. Sold out for now.'],
      ['LGT-CLIP-READ', 'Clip-on reading light', 1_599, 60, ['reading', 'portable'], 'Rechargeable book light with three warmth settings.'],
      ['LGT-CANDLE-SET', 'Beeswax candle set', 1_800, 75, ['candles', 'beeswax'], 'Six hand-dipped beeswax candles that burn clean for nine hours.'],
    ],
  },
  {
    slug: 'audio',
    name: 'Audio',
    description: 'Headphones, speakers and turntables.',
    products: [
      ['AUD-HP-OVER-NC', 'Noise-cancelling headphones', 24_900, 14, ['headphones', 'wireless', 'bluetooth'], 'Over-ear headphones with adaptive noise cancelling and 30 hours of battery.'],
      ['AUD-SPK-BT-MINI', 'Mini bluetooth speaker', 4_900, 55, ['speakers', 'bluetooth', 'portable'], 'Waterproof pocket speaker with a surprisingly deep bass.'],
      ['AUD-TT-BELT', 'Belt-drive turntable', 29_900, 4, ['vinyl', 'turntable'], 'Two-speed turntable with a carbon tonearm and a built-in phono stage.'],
      ['AUD-EAR-WIRED', 'Wired in-ear monitors', 8_900, 27, ['headphones', 'wired'], 'Dual-driver earphones with detachable braided cables.'],
      ['AUD-SPK-SHELF', 'Bookshelf speakers (pair)', 34_900, 6, ['speakers', 'wood'], 'Passive two-way speakers in walnut veneer cabinets.'],
      ['AUD-RADIO-DAB', 'DAB kitchen radio', 7_900, 0, ['radio', 'kitchen'], 'DAB+ and FM radio with a splash-proof front and an egg timer.'],
      ['AUD-DAC-USB', 'USB headphone amplifier', 11_900, 10, ['headphones', 'dac'], 'Portable DAC and amplifier that drives demanding headphones.'],
      ['AUD-STAND-HP', 'Headphone stand', 2_900, 33, ['headphones', 'wood', 'desk'], 'Beech stand that keeps headphones off the desk and in shape.'],
    ],
  },
  {
    slug: 'outdoor',
    name: 'Outdoor',
    description: 'For the garden, the trail and the campsite.',
    products: [
      ['OUT-TENT-2P', 'Two-person tent', 19_900, 8, ['camping', 'tent'], 'Freestanding three-season tent, 1.9 kg, pitches in five minutes.'],
      ['OUT-BAG-DOWN', 'Down sleeping bag', 22_900, 5, ['camping', 'down'], 'Responsibly sourced down, comfortable to minus five degrees.'],
      ['OUT-STOVE-GAS', 'Camping gas stove', 3_900, 21, ['camping', 'cooking'], 'Folding burner that boils a litre of water in three minutes.'],
      ['OUT-BOTTLE-STEEL', 'Insulated steel bottle', 2_900, 90, ['hiking', 'steel'], 'Keeps water cold for 24 hours and tea hot for 12.'],
      ['OUT-CHAIR-FOLD', 'Folding camp chair', 4_400, 0, ['camping', 'furniture'], 'Light aluminium chair with a cup holder. Restocking soon.'],
      ['OUT-HAMMOCK', 'Parachute hammock', 3_500, 26, ['camping', 'hammock'], 'Ripstop nylon hammock with tree-friendly straps.'],
      ['OUT-PLANTER-CED', 'Cedar raised planter', 8_900, 9, ['garden', 'wood', 'cedar'], 'Rot-resistant cedar bed for herbs and vegetables on a balcony.'],
      ['OUT-GLOVES-GARD', 'Leather gardening gloves', 1_900, 44, ['garden', 'leather'], 'Goatskin gloves that keep out thorns and keep their grip.'],
      ['OUT-HEADLAMP', 'Rechargeable headlamp', 3_200, 37, ['hiking', 'camping', 'led'], '400 lumen headlamp with a red night mode and USB-C charging.'],
    ],
  },
  {
    slug: 'books',
    name: 'Books',
    description: 'Cookbooks, field guides and slow reads.',
    products: [
      ['BK-COOK-BREAD', 'The Sourdough Year', 2_800, 19, ['cookbook', 'baking', 'bread'], 'A baker follows one starter through twelve months of loaves.'],
      ['BK-FIELD-BIRDS', 'Field Guide to Garden Birds', 1_999, 23, ['nature', 'birds', 'guide'], 'Three hundred species, illustrated, with their songs described.'],
      ['BK-COOK-VEG', 'Vegetables, Simply', 3_200, 12, ['cookbook', 'vegetarian'], 'One hundred vegetable dishes that need no more than five ingredients.'],
      ['BK-NOVEL-SEA', 'The Lighthouse Keeper', 1_499, 0, ['fiction', 'novel'], 'A quiet novel about a keeper, a storm and a letter never sent.'],
      ['BK-MAP-TRAILS', 'Trails of the North', 2_400, 15, ['hiking', 'guide', 'maps'], 'Forty day hikes with maps, gradients and where to find coffee after.'],
      ['BK-TEA-HIST', 'A History of Tea', 2_200, 8, ['tea', 'history'], 'From Yunnan to the English breakfast table in twelve chapters.'],
      ['BK-WOODWORK', 'Woodworking by Hand', 3_600, 6, ['wood', 'craft', 'guide'], 'Sharpening, joinery and finishing without a single power tool.'],
    ],
  },
  {
    slug: 'home-office',
    name: 'Home Office',
    description: 'Desks, chairs and the small things that make a workday.',
    products: [
      ['OFF-DESK-OAK', 'Oak standing desk', 64_900, 2, ['desk', 'oak', 'wood'], 'Electric sit-stand desk with a solid oak top and memory presets.'],
      ['OFF-CHAIR-ERGO', 'Ergonomic office chair', 39_900, 4, ['chair', 'ergonomic'], 'Mesh back, adjustable lumbar support and 4D armrests.'],
      ['OFF-KB-MECH', 'Mechanical keyboard', 12_900, 17, ['keyboard', 'desk'], 'Tenkeyless keyboard with hot-swappable tactile switches.'],
      ['OFF-MAT-FELT', 'Wool felt desk mat', 3_900, 28, ['desk', 'wool'], 'Merino felt mat that quiets the keyboard and warms the desk.'],
      ['OFF-NOTE-DOT', 'Dotted notebook A5', 1_400, 150, ['paper', 'notebook'], '192 pages of fountain-pen-friendly paper, lay-flat binding.'],
      ['OFF-PEN-FOUNT', 'Fountain pen', 4_900, 0, ['pen', 'writing'], 'Steel nib fountain pen with a piston filler. Back in stock next month.'],
      ['OFF-ARM-MONITOR', 'Monitor arm', 8_900, 13, ['desk', 'monitor'], 'Gas-spring arm for screens up to 32 inches, with cable management.'],
      ['OFF-PLANT-SNAKE', 'Snake plant in clay pot', 2_900, 20, ['plants', 'desk'], 'Nearly unkillable plant that cleans the air of a small office.'],
    ],
  },
];

export interface SeedReport {
  categoriesCreated: number;
  categoriesFound: number;
  productsCreated: number;
  productsFound: number;
}

/**
 * Loads the demo catalog through the same domain functions as the API (so caches are invalidated
 * and, later, events are emitted). Idempotent: categories are matched by slug and products by SKU,
 * and what exists is left exactly as it is, even when a second seed runs at the same time.
 */
export async function seedDemoCatalog(catalog: Catalog): Promise<SeedReport> {
  const report: SeedReport = { categoriesCreated: 0, categoriesFound: 0, productsCreated: 0, productsFound: 0 };
  const products = catalog.db.getRepository(ProductEntity);
  for (const category of DEMO_CATALOG) {
    let categoryId = (await findCategoryBySlug(catalog.db, category.slug))?.id;
    if (categoryId === undefined) {
      try {
        categoryId = (await catalog.createCategory({ name: category.name, slug: category.slug, description: category.description })).id;
        report.categoriesCreated++;
      } catch (error) {
        if (!(isAppError(error) && error.code === 'CATALOG_SLUG_TAKEN')) throw error;
        categoryId = (await findCategoryBySlug(catalog.db, category.slug))!.id;
        report.categoriesFound++;
      }
    } else {
      report.categoriesFound++;
    }

    for (const [sku, name, priceCents, stock, tags, description] of category.products) {
      const exists = await products.createQueryBuilder('p').where('lower(p.sku) = lower(:sku)', { sku }).getExists();
      if (exists) {
        report.productsFound++;
        continue;
      }
      try {
        await catalog.createProduct({ sku, name, priceCents, stock, tags, description, categoryId, currency: catalog.rules.currency });
        report.productsCreated++;
      } catch (error) {
        if (!(isAppError(error) && error.code === 'CATALOG_SKU_TAKEN')) throw error;
        report.productsFound++;
      }
    }
  }
  return report;
}
