//! The panel in the user's language: English as written in the code, French from the table
//! below (`jumeau view --lang fr`, `?lang=fr` in a page). Texts missing from the table stay in
//! English.

use crate::front::embed::Lang;
use bevy::prelude::Resource;
use bevy_egui::egui;

/// The panel's language.
#[derive(Resource, Debug, Clone, Copy, PartialEq, Eq)]
pub struct PanelLang(pub Lang);

fn key() -> egui::Id {
    egui::Id::new("jumeau_lang")
}

/// Makes `lang` the language of everything drawn through `ctx` from now on.
pub fn set(ctx: &egui::Context, lang: Lang) {
    ctx.data_mut(|d| d.insert_temp(key(), lang));
}

/// `english` in the panel's language.
pub fn t<'a>(ui: &egui::Ui, english: &'a str) -> &'a str {
    translate(
        ui.ctx().data(|d| d.get_temp(key())).unwrap_or(Lang::En),
        english,
    )
}

/// `english` in `lang`.
pub fn translate(lang: Lang, english: &str) -> &str {
    match lang {
        Lang::En => english,
        Lang::Fr => FRENCH
            .iter()
            .find(|(en, _)| *en == english)
            .map_or(english, |(_, fr)| fr),
    }
}

/// (English, French).
const FRENCH: &[(&str, &str)] = &[
    // Scenarios.
    ("Scenarios", "Scénarios"),
    ("scenario(s)", "scénario(s)"),
    ("Cancel", "Annuler"),
    ("Run the scenarios", "Lancer les scénarios"),
    ("flood", "crue"),
    ("shadow", "ombre"),
    ("sunlight", "ensoleillement"),
    ("water level (m)", "niveau d'eau (m)"),
    ("cells", "cellules"),
    ("difference", "différence"),
    ("split view", "vue partagée"),
    ("left", "gauche"),
    ("right", "droite"),
    ("divider", "séparation"),
    ("changed_area_m2", "surface changée (m²)"),
    ("Export to", "Exporter dans"),
    ("written:", "écrit :"),
    ("level_m", "niveau (m)"),
    ("flooded_area_m2", "surface inondée (m²)"),
    ("buildings_affected", "bâtiments touchés"),
    ("max_depth_m", "profondeur max. (m)"),
    ("plane_flooded_area_m2", "surface sous le plan (m²)"),
    (
        "disconnected_low_area_m2",
        "zones basses non connectées (m²)",
    ),
    ("sun_altitude_deg", "hauteur du soleil (°)"),
    ("sun_azimuth_deg", "azimut du soleil (°)"),
    ("shaded_fraction", "part à l'ombre"),
    ("day_length_h", "durée du jour (h)"),
    ("mean_hours", "heures de soleil moyennes"),
    ("buildings_affected_by_use", "bâtiments touchés par usage"),
    ("coverage", "couverture"),
    ("caveat", "avertissement"),
    ("antennas", "antennes"),
    ("masts", "mâts"),
    ("resolution_m", "résolution (m)"),
    ("method", "méthode"),
    ("thresholds_dbm", "seuils (dBm)"),
    ("area_per_level_m2", "surface par niveau (m²)"),
    ("buildings_per_level", "bâtiments par niveau"),
    ("median_dbm", "puissance médiane (dBm)"),
    ("very good", "très bonne"),
    ("good", "bonne"),
    ("fair", "limitée"),
    ("none", "pas de couverture"),
    ("rollout", "déploiement"),
    ("buildings", "bâtiments"),
    ("served", "raccordables"),
    ("not served", "pas encore raccordables"),
    ("share_served", "part raccordable"),
    ("by_status", "par état"),
    ("phases", "phases"),
    ("moved_buildings", "bâtiments déplacés"),
    ("quarters", "trimestres"),
    ("outside_terrain", "hors du terrain"),
    (
        "share of buildings served",
        "part des bâtiments raccordables",
    ),
    ("quarter", "trimestre"),
    ("Play", "Lecture"),
    ("Radio tools", "Outils radio"),
    ("off", "aucun"),
    ("link", "liaison"),
    ("sites (what if)", "sites (et si…)"),
    (
        "click the transmitter's place on the terrain, then the receiver's",
        "cliquez l'emplacement de l'émetteur sur le terrain, puis celui du récepteur",
    ),
    ("a place clicked", "un point cliqué"),
    ("transmitter", "émetteur"),
    ("transmitter height (m)", "hauteur de l'émetteur (m)"),
    ("receiver height (m)", "hauteur du récepteur (m)"),
    ("frequency (MHz)", "fréquence (MHz)"),
    ("distance (m)", "distance (m)"),
    ("free space (dB)", "espace libre (dB)"),
    ("diffraction (dB)", "diffraction (dB)"),
    ("pattern (dB)", "diagramme (dB)"),
    ("total loss (dB)", "perte totale (dB)"),
    ("received (dBm)", "puissance reçue (dBm)"),
    ("line of sight", "visibilité directe"),
    ("yes", "oui"),
    ("no", "non"),
    ("Fresnel zone clear (%)", "zone de Fresnel dégagée (%)"),
    ("surface", "sursol"),
    ("first Fresnel zone", "premier ellipsoïde de Fresnel"),
    (
        "click a site to select it; only the site changed is recomputed",
        "cliquez un site pour le choisir ; seul le site modifié est recalculé",
    ),
    ("place a site", "placer un site"),
    ("move", "déplacer"),
    ("aim", "orienter"),
    ("remove", "supprimer"),
    (
        "click where the new site stands",
        "cliquez où se trouve le nouveau site",
    ),
    ("height (m)", "hauteur (m)"),
    ("EIRP (dBm)", "PIRE (dBm)"),
    (
        "click the site's new place",
        "cliquez le nouvel emplacement du site",
    ),
    (
        "click where the sector should face",
        "cliquez vers où le secteur doit pointer",
    ),
    ("azimuth (°)", "azimut (°)"),
    ("computing…", "calcul…"),
    ("start over", "tout annuler"),
    ("save as a scenario", "enregistrer comme scénario"),
    ("Profile", "Profil"),
    ("Copy view", "Copier la vue"),
    ("Measure", "Mesurer"),
    ("point", "point"),
    ("distance", "distance"),
    ("polyline", "polyligne"),
    ("polygon", "polygone"),
    ("finish", "terminer"),
    ("undo", "annuler"),
    ("delete all", "tout supprimer"),
    ("Export as GeoJSON", "Exporter en GeoJSON"),
    ("length_3d_m", "longueur 3D (m)"),
    ("horizontal_m", "horizontale (m)"),
    ("vertical_m", "dénivelé (m)"),
    ("area_m2", "surface (m²)"),
    ("perimeter_m", "périmètre (m)"),
    ("longitude_deg", "longitude (°)"),
    ("latitude_deg", "latitude (°)"),
    ("ellipsoidal_height_m", "hauteur ellipsoïdale (m)"),
    ("height_above_ground_m", "hauteur au-dessus du sol (m)"),
    ("angle_deg", "angle (°)"),
    (
        "click where a vertex goes: the nearest one moves there",
        "cliquez où placer un sommet : le plus proche s'y déplace",
    ),
    ("draped_area_m2", "surface drapée (m²)"),
    ("volume_above_ground_m3", "volume au-dessus du sol (m³)"),
    ("volume_below_ground_m3", "volume sous le sol (m³)"),
    (
        "building the terrain for heights and volumes…",
        "calcul du terrain pour les hauteurs et volumes…",
    ),
    (
        "draw a profile: click its start, then its end",
        "tracer un profil : cliquez son début, puis sa fin",
    ),
    ("reading the band…", "lecture de la bande…"),
    ("along the line", "le long de la ligne"),
    ("ground (DTM)", "sol (MNT)"),
    ("measured", "mesure"),
    (
        "click twice in the plot to measure between two places",
        "cliquez deux fois dans le graphique pour mesurer entre deux points",
    ),
    ("Pause", "Pause"),
    // Projects: bookmarks, the tour, annotations, the clip.
    ("Project", "Projet"),
    ("Save", "Enregistrer"),
    ("Screenshot", "Capture d'écran"),
    ("saved:", "enregistré :"),
    ("Open project", "Ouvrir un projet"),
    ("Bookmarks", "Signets"),
    ("name", "nom"),
    ("caption", "légende"),
    ("Add bookmark", "Ajouter un signet"),
    ("go", "aller"),
    ("Tour", "Visite"),
    ("resume", "reprendre"),
    ("stop", "arrêter"),
    ("Annotations", "Annotations"),
    ("Pin a note", "Épingler une note"),
    ("click where the note goes", "cliquez où placer la note"),
    ("Clip", "Découpe"),
    ("keep outside", "garder l'extérieur"),
    ("box around the focus", "boîte autour du point visé"),
    ("size (m)", "taille (m)"),
    (
        "clip to the last measured polygon",
        "découper selon le dernier polygone mesuré",
    ),
    ("no measured polygon yet", "aucun polygone mesuré"),
    (
        "section plane at height (m)",
        "plan de coupe à la hauteur (m)",
    ),
    ("clear clip", "supprimer la découpe"),
    ("Copy link", "Copier le lien"),
    // Point clouds.
    ("Layers", "Couches"),
    // Opening the inputs (the stages are the progress bar's prefix and message).
    ("Opening", "Ouverture"),
    ("the demo twin", "la ville de démonstration"),
    ("Add data", "Ajouter des données"),
    (
        "a path or URL (LAS/LAZ/COPC, tileset, glTF, GeoJSON, CSV), or drop files on the window",
        "un chemin ou une URL (LAS/LAZ/COPC, tileset, glTF, GeoJSON, CSV), ou déposez des fichiers sur la fenêtre",
    ),
    ("Open", "Ouvrir"),
    ("converting to COPC", "conversion en COPC"),
    ("distribute", "répartition"),
    ("build", "construction"),
    (
        "scanning the demo town",
        "levé de la ville de démonstration",
    ),
    (
        "writing the demo town as COPC",
        "écriture de la ville de démonstration en COPC",
    ),
    (
        "writing the demo town's buildings",
        "écriture des bâtiments de la ville",
    ),
    (
        "writing the demo town's network",
        "écriture du réseau de la ville",
    ),
    ("opacity", "opacité"),
    ("source(s)", "source(s)"),
    ("points", "points"),
    ("Display", "Affichage"),
    ("point budget", "budget de points"),
    ("point size (px)", "taille des points (px)"),
    ("adaptive size", "taille adaptative"),
    ("eye-dome lighting", "éclairage « eye-dome »"),
    (
        "colour chosen from the data:",
        "couleur choisie d'après les données :",
    ),
    (
        "the points carry colours",
        "les points portent des couleurs",
    ),
    (
        "no colours in the points, several classes",
        "pas de couleurs dans les points, plusieurs classes",
    ),
    (
        "no colours and a single class in the points",
        "ni couleurs ni plusieurs classes dans les points",
    ),
    ("RGB", "RVB"),
    ("Intensity", "Intensité"),
    ("Elevation", "Altitude"),
    ("Classification", "Classification"),
    ("Classes (points loaded)", "Classes (points chargés)"),
    ("Statistics", "Statistiques"),
    ("frame", "repère"),
    ("loading nodes", "nœuds chargés"),
    ("points shown", "points affichés"),
    ("nodes resident", "nœuds en mémoire"),
    ("queued", "en attente"),
    ("in flight", "en cours"),
    ("to upload", "à envoyer"),
    ("memory", "mémoire"),
    ("fetched", "téléchargé"),
    ("render path", "rendu des points"),
    (
        "opacity needs the splat path (--render-path splats)",
        "l'opacité demande le rendu par disques (--render-path splats)",
    ),
    (
        "compute rasterizer, 64-bit atomics",
        "rastérisation par calcul, atomiques 64 bits",
    ),
    (
        "compute rasterizer, 32-bit atomics",
        "rastérisation par calcul, atomiques 32 bits",
    ),
    ("hardware points", "points matériels"),
    ("splats", "disques (splats)"),
    ("frame time", "temps par image"),
    ("streaming", "flux"),
    (
        "node(s) failed, retried later",
        "nœud(s) en échec, nouvel essai plus tard",
    ),
    ("Errors", "Erreurs"),
    // Classes.
    ("created, never classified", "créé, jamais classé"),
    ("unclassified", "non classé"),
    ("ground", "sol"),
    ("low vegetation", "végétation basse"),
    ("medium vegetation", "végétation moyenne"),
    ("high vegetation", "végétation haute"),
    ("building", "bâtiment"),
    ("low point (noise)", "point bas (bruit)"),
    ("model key-point", "point clé du modèle"),
    ("water", "eau"),
    ("rail", "rail"),
    ("road surface", "chaussée"),
    ("overlap", "recouvrement"),
    ("wire guard", "câble de garde"),
    ("wire conductor", "conducteur"),
    ("transmission tower", "pylône électrique"),
    ("wire connector", "connecteur"),
    ("bridge deck", "tablier de pont"),
    ("high noise", "bruit haut"),
    (
        "permanent above-ground structure (IGN)",
        "sursol pérenne (IGN)",
    ),
    ("artefact (IGN)", "artefact (IGN)"),
    ("virtual point (IGN)", "point virtuel (IGN)"),
    (
        "miscellaneous built structure (IGN)",
        "construction diverse (IGN)",
    ),
    ("user defined", "défini par l'utilisateur"),
    // Buildings.
    ("Buildings", "Bâtiments"),
    ("materials", "matériaux"),
    ("colour by", "couleur selon"),
    ("service status (network)", "état du service (réseau)"),
    ("tiles shown", "tuiles affichées"),
    ("resident", "en mémoire"),
    ("triangles", "triangles"),
    (
        "tile(s) failed, retried later",
        "tuile(s) en échec, nouvel essai plus tard",
    ),
    (
        "Click a building to see its attributes.",
        "Cliquez sur un bâtiment pour voir ses attributs.",
    ),
    ("Picked building", "Bâtiment sélectionné"),
    ("at", "à"),
    ("no attributes", "aucun attribut"),
    ("clear", "effacer"),
    // Network.
    ("Network", "Réseau"),
    (
        "loading layer(s): reading, draping…",
        "couche(s) en chargement : lecture, drapage…",
    ),
    ("line width (px)", "épaisseur des lignes (px)"),
    ("symbol size", "taille des symboles"),
    ("antenna sectors", "secteurs d'antenne"),
    (
        "x-ray: show through buildings, trees and ground",
        "rayons X : voir à travers bâtiments, arbres et sol",
    ),
    ("Legend and filters", "Légende et filtres"),
    ("status", "état"),
    ("capacity", "capacité"),
    ("operator", "opérateur"),
    ("kind", "type"),
    ("planned", "prévu"),
    ("built", "construit"),
    ("lit", "allumé"),
    ("unknown", "inconnu"),
    ("central office (NRO)", "nœud de raccordement optique (NRO)"),
    ("street cabinet (PM)", "point de mutualisation (PM)"),
    (
        "distribution point (PBO)",
        "point de branchement optique (PBO)",
    ),
    ("mast", "pylône"),
    ("antenna", "antenne"),
    ("other site", "autre site"),
    ("fibre span", "tronçon de fibre"),
    ("roll-out by date", "déploiement par date"),
    ("in service by", "en service au"),
    (
        "Click a site or span to see its attributes.",
        "Cliquez sur un site ou un tronçon pour voir ses attributs.",
    ),
    ("Picked site", "Site sélectionné"),
    ("Picked span", "Tronçon sélectionné"),
    ("position", "position"),
    ("length", "longueur"),
    ("fibres", "fibres"),
    ("in service", "en service"),
    ("sites", "sites"),
    ("spans", "tronçons"),
    ("meshes", "maillages"),
    ("ms per frame", "ms par image"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_covers_what_the_panel_names_and_english_stays_as_written() {
        assert_eq!(translate(Lang::En, "Layers"), "Layers");
        assert_eq!(translate(Lang::Fr, "Layers"), "Couches");
        assert_eq!(translate(Lang::Fr, "not in the table"), "not in the table");
        // Every name the panel draws from other modules has a French text.
        let names = crate::network::overlay::STATUS_NAMES
            .iter()
            .chain(&crate::network::overlay::KIND_NAMES)
            .copied()
            .chain((0..=255u8).map(crate::pointcloud::info::class_name))
            .chain(crate::pointcloud::style::ColorMode::ALL.map(|m| m.label()))
            .chain(crate::network::overlay::NetworkColor::ALL.map(|m| m.label()))
            .chain([(false, false), (false, true), (true, false)].map(
                |(rgb_varies, classes_vary)| {
                    crate::pointcloud::layer::choose_color(
                        crate::pointcloud::layer::ColorEvidence {
                            rgb_varies,
                            classes_vary,
                        },
                    )
                    .1
                },
            ));
        for name in names {
            assert!(
                FRENCH.iter().any(|(en, _)| *en == name),
                "no French text for {name:?}"
            );
        }
        // One French text per English one.
        for (i, (en, _)) in FRENCH.iter().enumerate() {
            assert!(
                !FRENCH[i + 1..].iter().any(|(other, _)| other == en),
                "{en:?} twice"
            );
        }
    }
}
